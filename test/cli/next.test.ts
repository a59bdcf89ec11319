import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';

test('next --cron in Europe/Berlin across spring forward: the fixed-time fire in the gap runs at 03:00 CEST', async () => {
  const r = await runCli(['next', '--cron', '30 2 * * *', '--tz', 'Europe/Berlin', '--from', '2026-03-28T12:00:00Z', '--count', '3', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, '["2026-03-29T01:00:00.000Z","2026-03-30T00:30:00.000Z","2026-03-31T00:30:00.000Z"]\n');
});

test('next --every is aligned to the Unix epoch', async () => {
  const r = await runCli(['next', '--every', '15m', '--from', '2026-11-23T10:07:00Z', '--count', '2', '--json']);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), ['2026-11-23T10:15:00.000Z', '2026-11-23T10:30:00.000Z']);
});

test('next FILE prints a table in the job zone and UTC', async () => {
  const r = await runCli(['next', 'jobs.d/nightly-report.yaml', '--from', '2026-03-27T12:00:00Z', '--count', '2']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Europe\/Berlin/);
  assert.match(r.stdout, /1 +Mon 2026-03-30 01:00:00 \+02:00 .* 2026-03-29T23:00:00\.000Z/);
  assert.match(r.stdout, /due with jitter/);
});

test('next FILE with --env prod uses the overlay', async () => {
  const r = await runCli(['next', 'jobs.d/nightly-report.yaml', '--env', 'prod', '--from', '2026-03-27T12:00:00Z', '--count', '1', '--json']);
  assert.deepEqual(JSON.parse(r.stdout), ['2026-03-30T00:00:00.000Z']);
});

test('next: a bad expression or zone is a usage error that says what is wrong', async () => {
  const bad = await runCli(['next', '--cron', '* * * *']);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--cron: .*5 fields/);
  const zone = await runCli(['next', '--cron', '* * * * *', '--tz', 'EST']);
  assert.equal(zone.code, 2);
  assert.match(zone.stderr, /--tz: "EST" is not an IANA time zone/);
  assert.equal((await runCli(['next'])).code, 2);
});

// `at:` (and start_at / end_at) wall times follow the DST rule of cron schedules (README "Time, DST and
// overlap"): in a spring-forward gap, the end of the gap; in a repeated hour, the first occurrence.

import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { parseInstant } from '../../src/definitions/instant.ts';
import { jobsDir } from '../helpers/agent.ts';
import { runCli } from '../helpers/cli.ts';

const CASES: [text: string, zone: string, utc: string][] = [
  ['2027-03-28T02:30:00', 'Europe/Berlin', '2027-03-28T01:00:00.000Z'], // gap 02:00-03:00: its end, 03:00 CEST
  ['2027-03-28T02:00', 'Europe/Berlin', '2027-03-28T01:00:00.000Z'],
  ['2027-03-28T03:00', 'Europe/Berlin', '2027-03-28T01:00:00.000Z'],
  ['2027-03-28T01:59:59', 'Europe/Berlin', '2027-03-28T00:59:59.000Z'],
  ['2027-10-31T02:30:00', 'Europe/Berlin', '2027-10-31T00:30:00.000Z'], // twice: the first, 02:30 CEST
  ['2027-10-31T03:00:00', 'Europe/Berlin', '2027-10-31T02:00:00.000Z'],
  ['2027-03-14 02:30:00', 'America/New_York', '2027-03-14T07:00:00.000Z'], // APScheduler's form, a gap
  ['2027-11-07T01:30', 'America/New_York', '2027-11-07T05:30:00.000Z'],
  ['2027-10-03T02:15', 'Australia/Lord_Howe', '2027-10-02T15:30:00.000Z'], // a 30-minute gap 02:00-02:30
  ['2027-03-28T02:30:00+01:00', 'Europe/Berlin', '2027-03-28T01:30:00.000Z'], // an explicit offset is kept
  ['2027-03-28T02:30:00Z', 'Europe/Berlin', '2027-03-28T02:30:00.000Z'],
  ['2027-06-01T12:00', 'Europe/Berlin', '2027-06-01T10:00:00.000Z'],
  ['2027-06-01', 'Europe/Berlin', '2027-05-31T22:00:00.000Z'],
];

test('wall times in a gap are its end, repeated ones their first occurrence; explicit offsets are kept', () => {
  for (const [text, zone, utc] of CASES) {
    const ms = parseInstant(text, zone);
    assert.equal(typeof ms, 'number', text);
    assert.equal(new Date(ms as number).toISOString(), utc, `${text} in ${zone}`);
  }
});

test('jobsd next: at: and cron agree on the gap and on the repeated hour', async () => {
  for (const [day, from] of [['2027-03-28', '2027-03-27T12:00:00Z'], ['2027-10-31', '2027-10-30T12:00:00Z']] as const) {
    const dir = jobsDir({ 'at.yaml': `schedule: { at: "${day}T02:30:00", timezone: Europe/Berlin }\ntask: { type: command, command: ["true"] }\n` });
    const at = await runCli(['next', path.join(dir, 'at.yaml'), '--json', '--from', from]);
    assert.equal(at.code, 0, at.stderr);
    const cron = await runCli(['next', '--cron', '30 2 * * *', '--tz', 'Europe/Berlin', '--json', '--count', '1', '--from', from]);
    assert.equal(cron.code, 0, cron.stderr);
    assert.deepEqual(JSON.parse(at.stdout), JSON.parse(cron.stdout), day);
  }
});

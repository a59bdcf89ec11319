import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT, runCli } from '../helpers/cli.ts';

test('jobsd validate jobs.d: the examples are valid (exit 0)', async () => {
  const r = await runCli(['validate', 'jobs.d']);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.equal(r.stdout, '');
  assert.match(r.stderr, /^\d+ valid job files, 0 invalid\n$/);
});

test('jobsd validate with no PATH checks ./jobs.d, and the prod overlay is valid too', async () => {
  assert.equal((await runCli(['validate'])).code, 0);
  assert.equal((await runCli(['validate', '--env', 'prod'])).code, 0);
});

test('jobsd validate on invalid files: exit 1 and one PATH:LINE:COL: FIELD: message line per error', async () => {
  const r = await runCli(['validate', 'test/fixtures/invalid/bad-cron.yaml', 'test/fixtures/invalid/unknown-field.yaml']);
  assert.equal(r.code, 1);
  const lines = r.stdout.trim().split('\n');
  assert.deepEqual(lines.map((l) => l.replace(/: .*$/, '')), ['test/fixtures/invalid/bad-cron.yaml:3:9', 'test/fixtures/invalid/unknown-field.yaml:3:1']);
  assert.match(lines[0]!, /^test\/fixtures\/invalid\/bad-cron\.yaml:3:9: schedule\.cron: .*minute/);
  assert.match(r.stderr, /0 valid job files, 2 invalid/);
});

test('jobsd validate on a whole directory of bad files reports every file', async () => {
  const r = await runCli(['validate', 'test/fixtures/invalid']);
  assert.equal(r.code, 1);
  const files = new Set(r.stdout.trim().split('\n').map((l) => l.split(':')[0]));
  assert.equal(files.size, readdirSync(path.join(ROOT, 'test/fixtures/invalid')).length, r.stdout);
});

test('jobsd validate --json prints one JSON document', async () => {
  const r = await runCli(['validate', '--json', 'test/fixtures/dup']);
  assert.equal(r.code, 1);
  const doc = JSON.parse(r.stdout) as { ok: boolean; files: { file: string; ok: boolean; errors?: { text: string }[] }[] };
  assert.equal(doc.ok, false);
  assert.deepEqual(doc.files.map((f) => f.ok), [true, false]);
  assert.match(doc.files[1]!.errors![0]!.text, /b\.yaml:2:5: id: "same" is already the id of test\/fixtures\/dup\/a\.yaml/);
});

test('usage errors exit 2', async () => {
  assert.equal((await runCli(['validate', '--bogus'])).code, 2);
  assert.equal((await runCli(['frobnicate'])).code, 2);
  assert.equal((await runCli([])).code, 2);
  const help = await runCli(['validate', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: jobsd validate/);
});

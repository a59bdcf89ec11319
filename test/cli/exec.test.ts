import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { processAlive } from '../../src/workers/process-group.ts';
import { runCli } from '../helpers/cli.ts';

function jobFile(name: string, body: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-exec-'));
  const file = path.join(dir, name);
  writeFileSync(file, body);
  return file;
}

test('exec --json prints the result JSON of a succeeding command and exits 0', async () => {
  const file = jobFile('hello.yaml', 'schedule: every 1m\ntask: { type: command, command: ["sh", "-c", "echo hi $JOBSD_JOB_ID"] }\n');
  const r = await runCli(['exec', file, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as Record<string, unknown>;
  assert.equal(result.job_id, 'hello');
  assert.equal(result.status, 'succeeded');
  assert.equal(result.attempt, 1);
  assert.match(String((result.details as Record<string, unknown>).output_tail), /hi hello/);
  assert.match(r.stderr, /hi hello/); // the output line is logged too, on stderr
});

test('exec of a command that times out kills its process group, grandchild included, and reports timed_out', async () => {
  const pidFile = path.join(mkdtempSync(path.join(tmpdir(), 'jobsd-pid-')), 'grandchild.pid');
  const file = jobFile(
    'slow.yaml',
    `schedule: every 1m\ntimeout: 1s\ntask:\n  type: command\n  kill_grace: 1s\n  command: "sleep 30 & echo $! > ${pidFile}; wait"\n`,
  );
  const started = Date.now();
  const r = await runCli(['exec', file, '--json']);
  const elapsed = Date.now() - started;
  assert.equal(r.code, 1);
  const result = JSON.parse(r.stdout) as { status: string };
  assert.equal(result.status, 'timed_out');
  assert.ok(elapsed < 1000 + 1000 + 3000, `took ${elapsed} ms`);
  const grandchild = Number(readFileSync(pidFile, 'utf8'));
  // A killed orphan may linger as a zombie until something reaps it: it counts as gone.
  assert.equal(await processAlive(grandchild), false, 'the grandchild sleep must be gone');
});

test('exec of an invalid file prints the error and exits 1', async () => {
  const file = jobFile('broken.yaml', 'schedule: "61 * * * *"\ntask: { type: command, command: [echo] }\n');
  const r = await runCli(['exec', file]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /broken\.yaml:1:11: schedule: .*minute/);
});

test('a value read from ${file:…} and a password are redacted in the result JSON and in every log line', async () => {
  const file = jobFile('secret.yaml', [
    'schedule: every 1m',
    'task:',
    '  type: command',
    '  command: ["sh", "-c", "echo db=$DB_URL pw=$DB_PASSWORD"]',
    '  env: { DB_URL: "${file:db-url.txt}", DB_PASSWORD: "pa55word-xyz" }',
    '',
  ].join('\n'));
  writeFileSync(path.join(path.dirname(file), 'db-url.txt'), 'postgres://app:very-secret@db/app\n');
  const r = await runCli(['exec', file, '--json']);
  assert.equal(r.code, 0, r.stderr);
  const result = JSON.parse(r.stdout) as { details: { output_tail: string } };
  assert.equal(result.details.output_tail, 'db=[redacted] pw=[redacted]\n');
  assert.match(r.stderr, /db=\[redacted\] pw=\[redacted\]/);
  assert.doesNotMatch(r.stdout + r.stderr, /very-secret|pa55word-xyz/);
});

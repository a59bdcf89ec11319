// A second `jobsd start` while one runs: on the same data directory it says so in one line (the first
// agent's pid, how to run a second one) before starting anything; on a busy --http address, one line
// naming the flag.

import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freePort } from '../../src/db/embedded.ts';
import { jobsDir, startAgent } from '../helpers/agent.ts';
import { runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';

const lines = (stdout: string) => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { level: number; msg: string });

test('a second start on the same data directory, or on a busy --http address, is one line and starts nothing', async (t) => {
  const work = mkdtempSync(path.join(tmpdir(), 'jobsd-second-start-'));
  chmodSync(work, 0o755); // as root, the postgres user must reach it
  const dataDir = path.join(work, 'data');
  const dir = jobsDir({ 'hourly.yaml': 'schedule: every 1h\ntask: { type: command, command: ["true"] }\n' });
  const http = `127.0.0.1:${await freePort()}`;
  const first = await startAgent({ name: 'first', jobsDir: dir, args: ['--data-dir', dataDir, '--http', http] });
  t.after(() => first.stop('SIGKILL'));

  const second = await runCli(['start', '--jobs-dir', dir, '--data-dir', dataDir, '--http', `127.0.0.1:${await freePort()}`, '--instance', 'second']);
  assert.equal(second.code, 1);
  assert.equal(second.stderr, '');
  const [line, ...more] = lines(second.stdout);
  assert.deepEqual(more, []);
  assert.equal(
    line!.msg,
    `jobsd could not start: another jobsd (pid ${first.child.pid}, HTTP on ${http}) is running on the data directory ${dataDir}; ` +
      'to run a second agent, give it its own --data-dir DIR and --http HOST:PORT (or --http off), or run both on one PostgreSQL with --database-url',
  );
  const status = await runCli(['status', '--json', '--data-dir', dataDir]);
  assert.equal(status.code, 0, status.stderr);
  assert.deepEqual((JSON.parse(status.stdout) as { instances: { name: string }[] }).instances.map((i) => i.name), ['first'], 'no ghost instance');

  const busy = await runCli(['start', '--jobs-dir', dir, '--database-url', await freshDatabase('second_start'), '--http', http, '--instance', 'busy']);
  assert.equal(busy.code, 1);
  assert.equal(busy.stderr, '');
  assert.deepEqual(lines(busy.stdout).map((l) => l.msg), [`jobsd could not start: --http ${http}: the address is already in use (another jobsd?): choose another with --http HOST:PORT, or --http off`]);

  assert.equal(await first.stop(), 0);
  // Its claim on the data directory ends with it.
  const third = await startAgent({ name: 'third', jobsDir: dir, args: ['--data-dir', dataDir] });
  assert.equal(await third.stop(), 0);
});

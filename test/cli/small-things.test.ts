// What an operator notices in the first hour: --version, a pipe closed early, the process title, which
// runs were manual, job descriptions, and when a one-time job ran (not its identity instant, before 2005).

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { freePort } from '../../src/db/embedded.ts';
import { HOURLY, jobsDir, ledger, startAgent } from '../helpers/agent.ts';
import { ROOT, runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';

test('jobsd --version prints the version of package.json', async () => {
  const { version } = JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string };
  for (const flag of ['--version', '-V']) {
    const result = await runCli([flag]);
    assert.equal(result.code, 0);
    assert.equal(result.stdout, `jobsd ${version}\n`);
  }
});

test('a reader that closes the pipe early (| head) ends the command quietly, exit 0', async () => {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'jobsd.js'), 'next', '--every', '1s', '--count', '200000'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.once('data', () => child.stdout.destroy());
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  assert.equal(stderr, '');
  assert.equal(code, 0);
});

test('the agent is "jobsd" in ps; history says which runs were manual; list shows descriptions; a one-time job shows when it ran', async (t) => {
  const url = await freshDatabase('small_things');
  const dir = jobsDir({
    'report.yaml': `description: The nightly sales report\n${HOURLY}\ntask: { type: command, command: ["true"] }\n`,
    'setup.yaml': 'description: One-time setup\nschedule: "@once"\ntask: { type: command, command: ["true"] }\n',
  });
  const port = await freePort();
  const agent = await startAgent({ name: 'small', jobsDir: dir, databaseUrl: url, args: ['--http', `127.0.0.1:${port}`] });
  t.after(() => agent.stop('SIGKILL'));
  assert.equal(readFileSync(`/proc/${agent.child.pid}/comm`, 'utf8'), 'jobsd\n');

  const run = await runCli(['run', 'report', '--wait', '--jobs-dir', dir, '--database-url', url]);
  assert.equal(run.code, 0, run.stderr);
  const history = await runCli(['history', 'report', '--database-url', url]);
  assert.equal(history.code, 0, history.stderr);
  const [header, row] = history.stdout.split('\n');
  assert.match(header!, /^FIRE \(UTC\)\s+BY\s+STATE/);
  assert.match(row!, /^\S+Z\s+manual\s+succeeded/);

  await pollUntil(async () => (await ledger(url, 'setup')).some((r) => r.state === 'succeeded'), { timeoutMs: 10_000, what: 'the one-time job ran' });
  const today = new Date().toISOString().slice(0, 10);
  const once = await runCli(['history', 'setup', '--database-url', url]);
  assert.match(once.stdout.split('\n')[1]!, new RegExp(`^${today}T\\S+Z \\(@once\\)\\s+schedule\\s+succeeded`), once.stdout);
  const onceJson = JSON.parse((await runCli(['history', 'setup', '--json', '--database-url', url])).stdout) as { ran_at: string }[];
  assert.equal(onceJson[0]!.ran_at.slice(0, 10), today);

  const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
  const setupRow = page.slice(page.indexOf('data-job="setup"'));
  assert.match(setupRow.slice(0, setupRow.indexOf('</tr>')), /<td [^>]*class="last">.*succeeded.*<time [^>]*>\d+ s ago<\/time>/, 'the status page: seconds ago, not 427389.1 h');

  const list = await runCli(['list', '--jobs-dir', dir, '--database-url', url]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stdout.split('\n')[0]!, /\bDESCRIPTION$/);
  assert.match(list.stdout, /^report\s.*The nightly sales report$/m);
  assert.match(list.stdout, new RegExp(`^setup\\s.*succeeded ${today}T\\S+Z \\(@once\\)\\s+One-time setup$`, 'm'));
  const jobs = (JSON.parse((await runCli(['list', '--json', '--jobs-dir', dir, '--database-url', url])).stdout) as { jobs: { id: string; description: string; last_fire: string }[] }).jobs;
  assert.equal(jobs.find((j) => j.id === 'report')!.description, 'The nightly sales report');
  assert.equal(jobs.find((j) => j.id === 'setup')!.last_fire.slice(0, 10), today);
  assert.equal(await agent.stop(), 0);
});

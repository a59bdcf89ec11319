// A second SIGINT/SIGTERM during a one-shot command ends it at once, exit 1: `exec` kills the run's process
// group without waiting for its kill_grace, and `run --wait` stops waiting for a database that does not answer.

import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Socket } from 'node:net';
import path from 'node:path';
import { test } from 'node:test';
import { HOURLY, jobsDir } from '../helpers/agent.ts';
import { ROOT } from '../helpers/cli.ts';
import { pollUntil } from '../helpers/poll.ts';

function jobsd(args: string[]): { child: ChildProcess; stderr: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [path.join(ROOT, 'bin', 'jobsd.js'), ...args], { cwd: ROOT, env: { ...process.env, JOBSD_LOG_LEVEL: 'debug' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout!.resume();
  return { child, stderr: () => stderr, exited: new Promise((resolve) => child.on('exit', (code) => resolve(code))) };
}

/** The exit code, or 'running' when the process has not exited within `ms`. */
function exitWithin(exited: Promise<number | null>, ms: number): Promise<number | null | 'running'> {
  return Promise.race([exited, new Promise<'running'>((resolve) => setTimeout(() => resolve('running'), ms).unref())]);
}

function groupAlive(pid: number): boolean {
  try {
    process.kill(-pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('exec: a second SIGINT kills a command that ignores SIGTERM without waiting for its kill_grace, exit 1', async (t) => {
  const dir = jobsDir({ 'stubborn.yaml': `${HOURLY}\ntask:\n  type: command\n  command: ["sh", "-c", "trap \\"\\" TERM; sleep 60"]\n  kill_grace: 60s\n` });
  const exec = jobsd(['exec', path.join(dir, 'stubborn.yaml'), '--json']);
  t.after(() => exec.child.kill('SIGKILL'));
  const started = await pollUntil(() => /"pid":(\d+),"program":"sh"[^\n]*command started/.exec(exec.stderr()), { timeoutMs: 10_000, what: 'the command started' });
  const pid = Number(started[1]);
  t.after(() => groupAlive(pid) && process.kill(-pid, 'SIGKILL')); // what a failing run leaves
  exec.child.kill('SIGINT');
  await pollUntil(() => exec.stderr().includes('sending SIGTERM to the process group'), { what: 'SIGTERM sent' });
  assert.equal(await exitWithin(exec.exited, 300), 'running', 'the first signal waits for the kill_grace');
  const second = Date.now();
  exec.child.kill('SIGINT');
  // It ends about 0.3 s after it (the kill, then the exit); the bound leaves room for a loaded machine,
  // far below the 60 s kill_grace that the first signal alone waits for.
  assert.equal(await exitWithin(exec.exited, 10_000), 1, `exec did not end within 10 s of the second signal: ${exec.stderr()}`);
  assert.ok(Date.now() - second < 10_000);
  await pollUntil(() => !groupAlive(pid), { timeoutMs: 5_000, what: "the command's process group gone (killed, and reaped by init)" });
  assert.match(exec.stderr(), /second signal: stopping now/);
});

test('run --wait: a second signal while the database does not answer ends it at once, exit 1', async (t) => {
  const sockets: Socket[] = [];
  const server = createServer((s) => sockets.push(s));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const url = `postgres://jobsd:pw@127.0.0.1:${(server.address() as { port: number }).port}/jobsd`;
  const run = jobsd(['run', 'heartbeat', '--wait', '--database-url', url]);
  t.after(() => run.child.kill('SIGKILL'));
  await pollUntil(() => sockets.length > 0, { what: 'the CLI connected' });
  run.child.kill('SIGTERM');
  run.child.kill('SIGINT'); // (two of the same signal sent at once may arrive as one)
  // About 1 s after it; below the 5 s after which the connection attempt itself would give up.
  assert.equal(await exitWithin(run.exited, 4_000), 1, `run --wait did not end within 4 s of the second signal: ${run.stderr()}`);
  assert.doesNotMatch(run.stderr(), /\n\s+at /);
});

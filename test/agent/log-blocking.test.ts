// The agent's log goes to stdout with synchronous writes. When stdout is a pipe (a container runtime, the
// journal, a test harness), it must stay in blocking mode: in non-blocking mode a write meets EAGAIN as
// soon as the reader lags, and pino's sonic-boom then sleeps 100 ms with the event loop held, so every
// run due then starts 100 ms late. Creating `process.stdout` is what switches the pipe to non-blocking.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { freshDatabase } from '../helpers/db.ts';
import { jobsDir, startAgent } from '../helpers/agent.ts';
import { pollUntil } from '../helpers/poll.ts';

const O_NONBLOCK = 0o4000;

/** The open-file flags of a process's fd, as /proc shows them (octal). */
function fdFlags(pid: number, fd: number): number {
  const line = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8').split('\n').find((l) => l.startsWith('flags:'));
  return parseInt(line!.split(/\s+/)[1]!, 8);
}

test('stdout stays a blocking pipe while the agent logs and runs jobs', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const url = await freshDatabase('log-blocking');
  const agent = await startAgent({ name: 'agent-a', jobsDir: jobsDir({ 'tick.yaml': 'schedule: every 1s\ntask: { type: command, command: ["echo", "tick"] }\n' }), databaseUrl: url });
  t.after(() => agent.stop('SIGKILL'));
  await pollUntil(() => agent.logs.filter((l) => l.msg === 'tick').length >= 2, { timeoutMs: 10_000, what: 'two runs logged' });
  const flags = fdFlags(agent.child.pid!, 1);
  assert.equal(flags & O_NONBLOCK, 0, `stdout flags ${flags.toString(8)}: non-blocking`);
});

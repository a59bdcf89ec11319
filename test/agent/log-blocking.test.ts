// Whether a pipe is non-blocking belongs to the open pipe, shared by every process that holds it: a shell's
// pipeline, a parent that writes to it too. The agent writes its log without waiting for the reader
// (src/log-writer.ts) through a description of the pipe of its own, and leaves the shared one as it was: a
// blocking pipe stays blocking for the others that write to it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, readlinkSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { jobsDir } from '../helpers/agent.ts';
import { pollUntil } from '../helpers/poll.ts';

const O_NONBLOCK = 0o4000;

/** The open-file flags of a process's fd, as /proc shows them (octal). */
function fdFlags(pid: number, fd: number): number {
  const line = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8').split('\n').find((l) => l.startsWith('flags:'));
  return parseInt(line!.split(/\s+/)[1]!, 8);
}

test("a shell's pipe on stdout stays blocking while the agent logs and runs jobs", { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  const url = await freshDatabase('log-blocking');
  const dir = jobsDir({ 'tick.yaml': 'schedule: every 1s\ntask: { type: command, command: ["echo", "tick"] }\n' });
  const agentArgs = [process.execPath, path.join(ROOT, 'bin', 'jobsd.js'), 'start', '--jobs-dir', dir, '--database-url', url, '--instance', 'agent-a', '--http', 'off'];
  // `jobsd start | cat`: the agent's stdout is the shell's pipe to cat.
  const shell = spawn('/bin/sh', ['-c', '"$@" | cat', 'sh', ...agentArgs], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Array<Record<string, unknown>> = [];
  let buffer = '';
  shell.stdout.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const part of parts) lines.push(JSON.parse(part) as Record<string, unknown>);
  });
  let pid = 0;
  t.after(() => {
    if (pid) process.kill(pid, 'SIGKILL');
  });
  await pollUntil(() => lines.filter((l) => l.msg === 'tick').length >= 2, { timeoutMs: 20_000, what: 'two runs logged' });
  pid = lines[0]!.pid as number;
  assert.match(readlinkSync(`/proc/${pid}/fd/1`), /^pipe:/, 'the agent writes to a pipe');
  const flags = fdFlags(pid, 1);
  assert.equal(flags & O_NONBLOCK, 0, `stdout flags ${flags.toString(8)}: non-blocking`);
});

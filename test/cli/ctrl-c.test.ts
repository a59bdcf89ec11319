// Ctrl-C in a terminal: SIGINT to the whole foreground process group, the agent's embedded PostgreSQL
// included unless it runs in a session of its own. It must end as SIGTERM does: the active run
// finishes within --grace and is recorded, "jobsd stopped", exit 0, no warning.

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { HOURLY, jobsDir, startAgent, type AgentProcess } from '../helpers/agent.ts';
import { runCli } from '../helpers/cli.ts';
import { pollUntil } from '../helpers/poll.ts';

/** A terminal's Ctrl-C: SIGINT to every process of the agent's group. */
function ctrlC(agent: AgentProcess): Promise<number | null> {
  process.kill(-agent.child.pid!, 'SIGINT');
  return agent.exited;
}

const problems = (agent: AgentProcess) => agent.logs.filter((l) => typeof l.level === 'number' && l.level >= 40);

test('Ctrl-C during an active run on the embedded database: the run finishes and is recorded succeeded, exit 0, no warning', async (t) => {
  const work = mkdtempSync(path.join(tmpdir(), 'jobsd-ctrl-c-'));
  chmodSync(work, 0o755); // as root, the postgres user must reach it (a private directory is test/cli/root-private-dir.test.ts)
  const marks = path.join(work, 'marks');
  const dataDir = path.join(work, 'data');
  const dir = jobsDir({
    'slow.yaml': `${HOURLY}\ntask: { type: command, command: ["sh", "-c", "echo start >> ${marks}; sleep 2; echo end >> ${marks}"] }\n`,
  });
  const args = ['--data-dir', dataDir, '--grace', '20'];
  const first = await startAgent({ name: 'ctrl-c', jobsDir: dir, args, detached: true });
  t.after(() => first.stop('SIGKILL'));
  const queued = await runCli(['run', 'slow', '--data-dir', dataDir, '--jobs-dir', dir]);
  assert.equal(queued.code, 0, queued.stderr);
  await pollUntil(() => first.logs.some((l) => l.msg === 'run started'), { timeoutMs: 10_000, what: 'the run started' });

  assert.equal(await ctrlC(first), 0, first.stderr());
  assert.deepEqual(problems(first), [], 'no warning or error line');
  assert.equal(first.stderr(), '', 'nothing on stderr (no "unsettled top-level await")');
  assert.ok(first.logs.some((l) => l.msg === 'jobsd stopped'));
  assert.deepEqual(readFileSync(marks, 'utf8').split('\n').filter(Boolean), ['start', 'end'], 'the command ran to its end');
  assert.ok(!existsSync(path.join(dataDir, 'pg', 'postmaster.pid')), 'the agent stopped its PostgreSQL');

  const second = await startAgent({ name: 'ctrl-c', jobsDir: dir, args, detached: true });
  t.after(() => second.stop('SIGKILL'));
  const history = await runCli(['history', 'slow', '--json', '--data-dir', dataDir]);
  assert.equal(history.code, 0, history.stderr);
  const fires = JSON.parse(history.stdout) as { state: string; result: { status: string } }[];
  assert.deepEqual(fires.map((f) => [f.state, f.result.status]), [['succeeded', 'succeeded']]);
  assert.equal(await ctrlC(second), 0, second.stderr());
  assert.deepEqual(problems(second), []);
});

// An agent SIGKILLed in the middle of a command run cannot remove the run's JOBSD_OUTPUT_DIR: the next agent
// started with the same TMPDIR does (the dead agent's pid is in the directory's name).
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { processAlive } from '../../src/workers/process-group.ts';
import { HOURLY, jobsDir, startAgent } from '../helpers/agent.ts';
import { runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';

test('the output directory of a run whose agent was SIGKILLed is removed by the next agent to start', async (t) => {
  const url = await freshDatabase('output-crash');
  const base = mkdtempSync(path.join(tmpdir(), 'jobsd-output-crash-'));
  const dir = jobsDir({
    'long.yaml': `${HOURLY}\ntimeout: 5m\ntask: { type: command, command: ["sh", "-c", "echo partial > \\"$JOBSD_OUTPUT_DIR/report.csv\\"; exec sleep 60"] }\n`,
  });
  const outputDirs = () => readdirSync(base).filter((name) => name.startsWith('jobsd-output-'));
  const a = await startAgent({ name: 'output-a', jobsDir: dir, databaseUrl: url, env: { TMPDIR: base } });
  t.after(() => a.stop('SIGKILL'));
  const queued = await runCli(['run', 'long', '--jobs-dir', dir, '--database-url', url]);
  assert.equal(queued.code, 0, queued.stderr);
  const started = await pollUntil(() => a.logs.find((l) => l.msg === 'command started' && l.job === 'long'), { timeoutMs: 10_000, what: 'the run on output-a' });
  await pollUntil(() => outputDirs().some((name) => existsSync(path.join(base, name, 'report.csv'))), { timeoutMs: 10_000, what: 'the file in the run\'s directory' });
  await a.stop('SIGKILL');
  await pollUntil(async () => !(await processAlive(Number(started.pid))), { timeoutMs: 3_000, what: "output-a's command to die with it" });
  assert.equal(outputDirs().length, 1, 'left behind by the killed agent');

  const b = await startAgent({ name: 'output-b', jobsDir: dir, databaseUrl: url, env: { TMPDIR: base } });
  t.after(() => b.stop());
  await pollUntil(() => outputDirs().length === 0, { timeoutMs: 10_000, what: 'the directory to be swept' });
  assert.ok(b.logs.some((l) => l.msg === 'removed the output directories of runs whose agent is gone'));
});

// A jobs directory that does not exist at start is a usage error; one that disappears while the agent
// runs makes it unready, with the reason, while the jobs loaded so far keep running.

import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { test } from 'node:test';
import { freePort } from '../../src/db/embedded.ts';
import { jobsDir, startAgent } from '../helpers/agent.ts';
import { runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';

test('jobsd start --jobs-dir DIR that does not exist: exit 2, one line', async () => {
  const result = await runCli(['start', '--jobs-dir', '/nonexistent/jobs.d', '--database-url', 'postgres://127.0.0.1:1/none', '--http', 'off']);
  assert.equal(result.code, 2);
  assert.equal(result.stdout, '');
  assert.equal(result.stderr, 'jobsd start: --jobs-dir /nonexistent/jobs.d: no such directory\n');
});

test('a jobs directory that disappears while running: /readyz 503 with the reason, the loaded jobs keep running', async (t) => {
  // cwd: /, since by default a command runs in its file's directory, which is going away.
  const dir = jobsDir({ 'tick.yaml': 'schedule: every 1s\ntask: { type: command, command: ["true"], cwd: / }\n' });
  const port = await freePort();
  const agent = await startAgent({ name: 'vanishing', jobsDir: dir, databaseUrl: await freshDatabase('jobs_dir'), args: ['--http', `127.0.0.1:${port}`] });
  t.after(() => agent.stop('SIGKILL'));
  const readyz = async () => {
    const res = await fetch(`http://127.0.0.1:${port}/readyz`);
    return { status: res.status, text: await res.text() };
  };
  await pollUntil(async () => (await readyz()).status === 200, { timeoutMs: 10_000, what: 'ready' });
  rmSync(dir, { recursive: true, force: true });
  const unready = await pollUntil(async () => {
    const r = await readyz();
    return r.status === 503 ? r : undefined;
  }, { timeoutMs: 70_000, intervalMs: 100, what: 'unready once the directory is gone' });
  assert.equal(unready.text, `not ready: the jobs directory ${dir} cannot be read (ENOENT): keeping the 1 jobs loaded so far\n`);
  const runs = () => agent.logs.filter((l) => l.msg === 'run succeeded' && l.job === 'tick').length;
  const before = runs();
  await pollUntil(() => runs() >= before + 2, { timeoutMs: 10_000, what: 'the loaded job still runs' });
  assert.ok(!agent.logs.some((l) => l.msg === 'job removed'), 'the job was not removed');
  assert.equal(await agent.stop(), 0);
});

// list, run and history show and use what the live agents run (the catalog each reports), from any
// directory; with no agent up they read the files and say so; unknown ids are exit 1 (issue 19 item 7).

import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { HOURLY, HOURLY_ANCHOR, jobsDir, startAgent } from '../helpers/agent.ts';
import { runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';

interface Listed {
  source: string;
  jobs: { id: string; schedule: string; description: string | null; file_in_error: boolean }[];
}

const NIGHTLY = 'description: nightly v1\nschedule: { cron: "0 3 * * *" }\ntask: { type: command, command: ["true"] }\nenvironments: { prod: { schedule: { cron: "0 5 * * *" } } }\n';
const TOKEN = 'the-api-token-1234';

test('with an agent up: its catalog (JOBSD_ENV, a broken file\'s last good version), from another directory', async (t) => {
  const url = await freshDatabase('agent_catalog');
  const dir = jobsDir({
    'nightly.yaml': NIGHTLY,
    'heartbeat.yaml': `${HOURLY}\ntask: { type: command, command: ["true"] }\n`,
  });
  const elsewhere = mkdtempSync(path.join(tmpdir(), 'jobsd-elsewhere-')); // no jobs.d here
  const cli = (args: string[], env: Record<string, string> = {}) => runCli([...args, '--database-url', url], { cwd: elsewhere, env: { JOBSD_ENV: '', JOBSD_API_TOKEN: '', ...env } });

  const agent = await startAgent({ name: 'prod-agent', jobsDir: dir, databaseUrl: url, env: { JOBSD_ENV: 'prod', JOBSD_API_TOKEN: TOKEN }, args: ['--http', '127.0.0.1:0'] });
  t.after(() => agent.stop('SIGKILL'));

  const list = await cli(['list', '--json']);
  assert.equal(list.code, 0, list.stderr);
  const listed = JSON.parse(list.stdout) as Listed;
  assert.deepEqual(listed.jobs.map((j) => [j.id, j.schedule]), [['heartbeat', `every 1h from ${HOURLY_ANCHOR}`], ['nightly', 'cron "0 5 * * *" in UTC']], 'the prod schedule');
  assert.equal(listed.source, 'agents');
  assert.match(list.stderr, /^\(jobs as the live agents run them: prod-agent \(jobs dir \S+, JOBSD_ENV=prod\)\)$/m);

  const run = await cli(['run', 'heartbeat', '--wait', '--json']);
  assert.equal(run.code, 0, run.stderr);
  assert.match(run.stderr, /\(heartbeat as agent prod-agent runs it, from \S+heartbeat\.yaml\)/);
  assert.equal((JSON.parse(run.stdout) as { status: string }).status, 'succeeded');
  const history = await cli(['history', 'heartbeat']);
  assert.equal(history.code, 0, history.stderr);
  assert.match(history.stdout, /manual\s+succeeded/);

  // The file breaks: the agent keeps its last good version, and so do list and run.
  writeFileSync(path.join(dir, 'nightly.yaml'), 'description: nightly v2\nschedule: { cron: "61 * * * *" }\ntask: { type: command, command: ["true"] }\n');
  await pollUntil(async () => ((JSON.parse((await cli(['status', '--json'])).stdout) as { file_errors: unknown[] }).file_errors.length === 1), { timeoutMs: 10_000, what: 'the file error reported' });
  const broken = JSON.parse((await cli(['list', '--json'])).stdout) as Listed;
  assert.deepEqual(broken.jobs.find((j) => j.id === 'nightly'), { ...broken.jobs.find((j) => j.id === 'nightly')!, description: 'nightly v1', file_in_error: true, schedule: 'cron "0 5 * * *" in UTC' });
  const text = await cli(['list']);
  assert.match(text.stdout, /^nightly .*\(file in error: its last good version runs\) nightly v1$/m);

  const noToken = await cli(['run', 'nightly']);
  assert.equal(noToken.code, 1);
  assert.match(noToken.stderr, /^jobsd run: agent prod-agent runs a version of nightly that its file \S+ is in error, so the agent runs its last good version: set JOBSD_API_TOKEN/m);
  const wrongToken = await cli(['run', 'nightly'], { JOBSD_API_TOKEN: 'wrong-token-5678' });
  assert.equal(wrongToken.code, 1);
  assert.match(wrongToken.stderr, /^jobsd run: agent prod-agent refused the API token \(401\): JOBSD_API_TOKEN must be the agent's own token$/m);
  assert.doesNotMatch(wrongToken.stderr, /\n\s+at /);
  const throughApi = await cli(['run', 'nightly', '--wait', '--json'], { JOBSD_API_TOKEN: TOKEN });
  assert.equal(throughApi.code, 0, throughApi.stderr);
  assert.match(throughApi.stderr, /queued through its HTTP API at http:\/\/127\.0\.0\.1:\d+/);
  assert.equal((JSON.parse(throughApi.stdout) as { status: string }).status, 'succeeded');

  for (const command of [['run', 'nope'], ['history', 'nope']]) {
    const unknown = await cli(command);
    assert.equal(unknown.code, 1, `${command.join(' ')}: ${unknown.stdout}`);
    assert.match(unknown.stderr, /^jobsd (run|history): no job "nope": (the live agents do not run it|no live agent runs it)/m);
  }
});

test('with no agent up: history, list and status start the embedded database for the command; the files are used and said so', async (t) => {
  const work = mkdtempSync(path.join(tmpdir(), 'jobsd-no-agent-'));
  chmodSync(work, 0o755); // as root, the postgres user must reach it
  const dataDir = path.join(work, 'data');
  const dir = jobsDir({ 'heartbeat.yaml': `${HOURLY}\ntask: { type: command, command: ["true"] }\n` });
  const agent = await startAgent({ name: 'embedded', jobsDir: dir, args: ['--data-dir', dataDir] });
  t.after(() => agent.stop('SIGKILL'));
  const run = await runCli(['run', 'heartbeat', '--wait', '--data-dir', dataDir, '--jobs-dir', dir]);
  assert.equal(run.code, 0, run.stderr);
  assert.equal(await agent.stop('SIGINT'), 0);

  const history = await runCli(['history', 'heartbeat', '--data-dir', dataDir]);
  assert.equal(history.code, 0, history.stderr);
  assert.match(history.stderr, /no agent is running on \S+: starting its embedded PostgreSQL for this command/);
  assert.match(history.stdout, /manual\s+succeeded/);
  const list = await runCli(['list', '--data-dir', dataDir, '--jobs-dir', dir]);
  assert.equal(list.code, 0, list.stderr);
  assert.match(list.stderr, /\(no agent is running: jobs read from the files in \S+\)/);
  assert.match(list.stdout, /^heartbeat\s+every 1h from \S+\s+\S+\s+succeeded/m);
  const status = await runCli(['status', '--json', '--data-dir', dataDir]);
  assert.equal(status.code, 0, status.stderr);
  assert.deepEqual((JSON.parse(status.stdout) as { instances: unknown[] }).instances, []);
  const waitFor = await runCli(['run', 'heartbeat', '--wait', '--data-dir', dataDir, '--jobs-dir', dir]);
  assert.equal(waitFor.code, 1);
  assert.match(waitFor.stderr, /^jobsd run: no agent is running to run heartbeat: start one \(jobsd start\), or leave out --wait/m);
  const queued = await runCli(['run', 'heartbeat', '--data-dir', dataDir, '--jobs-dir', dir]);
  assert.equal(queued.code, 0, queued.stderr);
  assert.match(queued.stderr, /\(no agent is running: heartbeat read from \S+heartbeat\.yaml; the run waits in the queue until an agent starts\)/);
  const nope = await runCli(['history', 'nope', '--data-dir', dataDir, '--jobs-dir', dir]);
  assert.equal(nope.code, 1);
  assert.match(nope.stderr, /^jobsd history: no job "nope": no agent is running, and no valid file in \S+ holds it, and the ledger has no fire of it$/m);
  assert.ok(!existsSync(path.join(dataDir, 'pg', 'postmaster.pid')), 'the server started for the commands is stopped');
  assert.ok(!existsSync(path.join(dataDir, 'agent.pid')), 'and the data directory released');
});

test('list follows each change of the agent\'s jobs (added, edited, removed); a restart under the same name reports only its own jobs', async (t) => {
  const url = await freshDatabase('agent_catalog_changes');
  const job = (description: string) => `description: ${description}\nschedule: every 1h\ntask: { type: command, command: ["true"] }\n`;
  const dir = jobsDir({ 'a.yaml': job('a v1'), 'b.yaml': job('b v1') });
  const elsewhere = mkdtempSync(path.join(tmpdir(), 'jobsd-elsewhere-'));
  const listed = async () => {
    const list = await runCli(['list', '--json', '--database-url', url], { cwd: elsewhere, env: { JOBSD_ENV: '' } });
    assert.equal(list.code, 0, list.stderr);
    return (JSON.parse(list.stdout) as Listed).jobs.map((j) => `${j.id}: ${j.description}`).join(', ');
  };
  const first = await startAgent({ name: 'changing', jobsDir: dir, databaseUrl: url });
  t.after(() => first.stop('SIGKILL'));
  assert.equal(await listed(), 'a: a v1, b: b v1');

  writeFileSync(path.join(dir, 'a.yaml'), job('a v2'));
  writeFileSync(path.join(dir, 'c.yaml'), job('c v1'));
  rmSync(path.join(dir, 'b.yaml'));
  await pollUntil(async () => (await listed()) === 'a: a v2, c: c v1', { timeoutMs: 10_000, what: 'the edit, the new job and the removal listed' });

  await first.stop('SIGKILL'); // its rows stay behind, as a crashed agent's do
  const second = await startAgent({ name: 'changing', jobsDir: jobsDir({ 'd.yaml': job('d v1') }), databaseUrl: url });
  t.after(() => second.stop('SIGKILL'));
  assert.equal(await listed(), 'd: d v1');
  const run = await runCli(['run', 'a', '--database-url', url], { cwd: elsewhere, env: { JOBSD_ENV: '' } });
  assert.equal(run.code, 1);
  assert.match(run.stderr, /^jobsd run: no job "a": the live agents do not run it/m);
});

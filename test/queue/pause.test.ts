// Issue 21, pause and resume: a run-time pause recorded in the database and obeyed by every replica.
// Two agents on one database; the job writes its own mark per run, so what ran is what the command says.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../src/db/embedded.ts';
import { jobsDir, ledger, startAgent, type AgentProcess, type LedgerRow } from '../helpers/agent.ts';
import { runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';

const TOKEN = 'pause-test-token';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const json = async (res: Response | Promise<Response>): Promise<any> => (await res).json();

describe('pause and resume', () => {
  let url: string;
  let dir: string;
  let marks: string;
  let base: string;
  const agents: AgentProcess[] = [];
  before(async () => {
    url = await freshDatabase('pause');
    dir = jobsDir({});
    marks = path.join(dir, 'marks');
    writeFileSync(marks, '');
    writeFileSync(path.join(dir, 'tick.yaml'), `schedule: every 1s\ntask: { type: command, command: 'echo "$JOBSD_FIRE_TIME" >> ${marks}' }\n`);
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    agents.push(await startAgent({ name: 'pa', jobsDir: dir, databaseUrl: url, args: ['--http', `127.0.0.1:${port}`], env: { JOBSD_API_TOKEN: TOKEN } }));
    agents.push(await startAgent({ name: 'pb', jobsDir: dir, databaseUrl: url }));
    await pollUntil(async () => (await ledger(url, 'tick')).filter((r) => r.state === 'succeeded').length >= 2, { timeoutMs: 20_000, what: 'tick runs' });
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
  });

  const cli = (...args: string[]) => runCli([...args, '--database-url', url, '--jobs-dir', dir]);
  const marked = () => new Set(readFileSync(marks, 'utf8').split('\n').filter(Boolean).map((t) => Date.parse(t)));
  const rowsFrom = async (fromMs: number) => (await ledger(url, 'tick')).filter((r) => r.fire_time.getTime() >= fromMs && r.manual === false);
  const states = (rows: LedgerRow[]) => rows.map((r) => `${r.fire_time.toISOString().slice(17, 19)}:${r.state}`).join(' ');

  it('a pause is obeyed by both agents: every fire is recorded skipped with the reason, none runs; a manual run still runs; resume', async () => {
    const paused = await cli('pause', 'tick', '--reason', 'database maintenance');
    assert.equal(paused.code, 0, paused.stderr);
    assert.match(paused.stdout, /^tick: paused by operator: database maintenance/);
    const pausedAt = Date.now();
    // A fire claimed ahead of its time (up to a second before it is due) may still run: judge from the second after.
    const from = Math.ceil(pausedAt / 1000) * 1000 + 1000;
    const skipped = await pollUntil(async () => {
      const rows = (await rowsFrom(from)).filter((r) => r.finished_at !== null);
      return rows.length >= 4 ? rows : undefined;
    }, { timeoutMs: 20_000, what: 'four fires during the pause' });
    assert.ok(skipped.every((r) => r.state === 'skipped'), states(skipped));
    assert.equal(skipped[0]!.result!.message, 'skipped: paused by operator: database maintenance');
    assert.deepEqual([...marked()].filter((t) => t >= from), [], 'no run during the pause');

    const manual = await cli('run', 'tick', '--wait', '--json');
    assert.equal(manual.code, 0, manual.stderr);
    assert.equal(JSON.parse(manual.stdout).status, 'succeeded');

    const api = await json(fetch(`${base}/api/jobs/tick`));
    assert.equal(api.pause.paused, true);
    assert.equal(api.pause.reason, 'database maintenance');
    assert.equal(api.pause.until, null);
    assert.match(await (await fetch(`${base}/metrics`)).text(), /^jobsd_job_paused\{job="tick"\} 1$/m);
    assert.match(await (await fetch(`${base}/`)).text(), /data-paused="true"><strong>paused<\/strong> until resumed · by operator: database maintenance/);

    const resumed = await cli('resume', 'tick');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.stdout, 'tick: resumed\n');
    const resumedAt = Date.now();
    await pollUntil(() => [...marked()].some((t) => t > resumedAt + 1000), { timeoutMs: 10_000, what: 'a run after the resume' });
    assert.match(await (await fetch(`${base}/metrics`)).text(), /^jobsd_job_paused\{job="tick"\} 0$/m);
  });

  it('a pause --for ends by itself', async () => {
    const paused = await cli('pause', 'tick', '--for', '3s', '--json');
    assert.equal(paused.code, 0, paused.stderr);
    const out = JSON.parse(paused.stdout);
    const untilMs = Date.parse(out.until);
    assert.ok(untilMs > Date.now() && untilMs <= Date.now() + 3_000, out.until);
    await pollUntil(() => [...marked()].some((t) => t >= untilMs), { timeoutMs: 15_000, what: 'a run after the pause ended' });
    const during = (await rowsFrom(Math.ceil(Date.now() / 1000) * 1000 - 60_000)).filter((r) => r.fire_time.getTime() > untilMs - 2000 && r.fire_time.getTime() < untilMs - 1000);
    assert.ok(during.every((r) => r.state === 'skipped'), states(during));
  });

  it('the API pauses and resumes with the token; a job that does not exist is exit 1 for the CLI and 404 for the API', async () => {
    const post = (p: string, body?: unknown, token = TOKEN) =>
      fetch(`${base}${p}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    assert.equal((await post('/api/jobs/tick/pause', { reason: 'x' }, 'wrong')).status, 401);
    assert.equal((await post('/api/jobs/tick/pause', { until: 'tomorrow' })).status, 400);
    const until = new Date(Date.now() + 3_600_000).toISOString();
    const res = await post('/api/jobs/tick/pause', { until, reason: 'release freeze' });
    assert.equal(res.status, 200);
    const body = await json(res);
    assert.equal(body.paused, true);
    assert.equal(body.until, until);
    const jobs = await json(fetch(`${base}/api/jobs`));
    assert.equal(jobs.jobs.find((j: { id: string }) => j.id === 'tick').pause.reason, 'release freeze');
    const resumed = await post('/api/jobs/tick/resume');
    assert.equal(resumed.status, 200);
    assert.equal((await json(resumed)).was_paused, true);
    assert.equal((await post('/api/jobs/nope/pause', {})).status, 404);
    const missing = await cli('pause', 'nope');
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no job "nope"/);
  });
});

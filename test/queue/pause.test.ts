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
import { startWebhookReceiver } from '../helpers/receivers.ts';

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
    // Every fire due after the command returned: a run claimed ahead of its time is decided by then too.
    const from = Math.ceil(pausedAt / 1000) * 1000;
    const skipped = await pollUntil(async () => {
      const rows = (await rowsFrom(from)).filter((r) => r.finished_at !== null);
      return rows.length >= 4 ? rows : undefined;
    }, { timeoutMs: 20_000, what: 'four fires during the pause' });
    assert.ok(skipped.every((r) => r.state === 'skipped'), states(skipped));
    assert.equal(skipped[0]!.result!.message, 'skipped: paused by operator: database maintenance');
    assert.deepEqual([...marked()].filter((t) => t >= from), [], 'no run during the pause');
    assert.ok(agents.some((a) => a.logs.some((l) => l.msg === 'fire skipped: the job is paused (jobsd resume ends the pause)')), 'the log says why');

    const manual = await cli('run', 'tick', '--wait', '--json');
    assert.equal(manual.code, 0, manual.stderr);
    assert.equal(JSON.parse(manual.stdout).status, 'succeeded');

    const api = await json(fetch(`${base}/api/jobs/tick`));
    assert.equal(api.pause.paused, true);
    assert.equal(api.pause.reason, 'database maintenance');
    assert.equal(api.pause.until, null);
    assert.match(await (await fetch(`${base}/metrics`)).text(), /^jobsd_job_paused\{job="tick"\} 1$/m);
    assert.match(await (await fetch(`${base}/`)).text(), /data-paused="true"><strong>paused<\/strong> until resumed · by operator: database maintenance/);

    const list = await cli('list');
    assert.equal(list.code, 0, list.stderr);
    assert.match(list.stdout, /^tick +every 1s +paused until resumed +.*\(paused by operator: database maintenance\)/m);

    const resumed = await cli('resume', 'tick');
    assert.equal(resumed.code, 0, resumed.stderr);
    assert.equal(resumed.stdout, 'tick: resumed\n');
    const resumedAt = Date.now();
    await pollUntil(() => [...marked()].some((t) => t > resumedAt + 1000), { timeoutMs: 10_000, what: 'a run after the resume' });
    assert.match(await (await fetch(`${base}/metrics`)).text(), /^jobsd_job_paused\{job="tick"\} 0$/m);
  });

  it('a pause --for ends by itself', async () => {
    const paused = await cli('pause', 'tick', '--for', '6s', '--json');
    const returned = Date.now();
    assert.equal(paused.code, 0, paused.stderr);
    const out = JSON.parse(paused.stdout);
    const untilMs = Date.parse(out.until);
    assert.ok(untilMs > returned && untilMs <= returned + 6_000, out.until);
    await pollUntil(() => [...marked()].some((t) => t >= untilMs), { timeoutMs: 15_000, what: 'a run after the pause ended' });
    // From the command's return to the pause's end: skipped.
    const during = (await rowsFrom(returned)).filter((r) => r.fire_time.getTime() < untilMs);
    assert.ok(during.length >= 1 && during.every((r) => r.state === 'skipped'), states(during));
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
  it('a pause that lands after a fire was claimed ahead of its time, before it is due: the fire does not start', async () => {
    const post = (p: string, body?: unknown) =>
      fetch(`${base}${p}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, ...(body ? { body: JSON.stringify(body) } : {}) });
    const held = () => agents.reduce((n, a) => n + a.logs.filter((l) => l.msg === 'run not started: the job was paused after its run was claimed ahead of its time').length, 0);
    for (let round = 0; round < 3; round++) {
      // A command is claimed up to 400 ms before it is due and held until then: pause 150 ms before.
      const due = Math.ceil((Date.now() + 700) / 1000) * 1000;
      await pollUntil(() => Date.now() >= due - 150, { timeoutMs: 3_000, intervalMs: 2, what: 'just before the fire' });
      const sent = Date.now();
      assert.ok(sent < due - 50, `the pause was sent ${sent - due} ms after the fire was due: the machine is too slow for this test's timing`);
      const res = await post('/api/jobs/tick/pause', { reason: `round ${round}` });
      assert.equal(res.status, 200);
      // It answers once the held run is decided (at its due time): nothing of the job is held any more.
      assert.equal((await json(res)).held_runs_not_stopped, 0);
      const [row] = await pollUntil(async () => {
        const rows = (await rowsFrom(due)).filter((r) => r.fire_time.getTime() === due && r.finished_at !== null);
        return rows.length ? rows : undefined;
      }, { timeoutMs: 10_000, what: 'the fire recorded' });
      assert.equal(row!.state, 'skipped', `round ${round}: ${row!.state} ${JSON.stringify(row!.result?.message)}`);
      assert.match(String(row!.result?.message), new RegExp(`paused by operator: round ${round}`));
      assert.equal(marked().has(due), false, 'the command did not run');
      assert.equal((await post('/api/jobs/tick/resume')).status, 200);
      await pollUntil(() => [...marked()].some((t) => t > due), { timeoutMs: 10_000, what: 'runs again after the resume' });
    }
    assert.ok(held() >= 1, 'at least one round paused a fire already claimed ahead (the case this test is for)');
  });
});

describe('pause_after_failures', () => {
  it('pauses the job after the second consecutive failure, on both agents, with one paused notification; resume clears it', async () => {
    const hook = await startWebhookReceiver();
    const url = await freshDatabase('pause_failures');
    const dir = jobsDir({
      'flaky.yaml': `schedule: every 2s\npause_after_failures: 2\nnotify: { on: [paused], webhook: { url: "${hook.url}" } }\ntask: { type: command, command: "exit 3" }\n`,
    });
    const port = await freePort();
    const a = await startAgent({ name: 'fa', jobsDir: dir, databaseUrl: url, args: ['--http', `127.0.0.1:${port}`] });
    const b = await startAgent({ name: 'fb', jobsDir: dir, databaseUrl: url });
    try {
      const paused = await pollUntil(async () => {
        const p = (await json(fetch(`http://127.0.0.1:${port}/api/jobs/flaky`))).pause;
        return p.paused ? p : undefined;
      }, { timeoutMs: 20_000, what: 'the job paused' });
      assert.equal(paused.paused_by, 'pause_after_failures');
      assert.equal(paused.reason, '2 consecutive failed runs');
      const pausedAt = Date.parse(paused.paused_at);
      // The fires after the pause are skipped; exactly two runs failed.
      await pollUntil(async () => (await ledger(url, 'flaky')).filter((r) => r.state === 'skipped' && r.fire_time.getTime() > pausedAt).length >= 2, { timeoutMs: 15_000, what: 'fires skipped after the pause' });
      const rows = await ledger(url, 'flaky');
      assert.equal(rows.filter((r) => r.state === 'failed').length, 2, rows.map((r) => r.state).join(' '));
      await pollUntil(() => hook.bodies.length >= 1, { what: 'the paused notification' });
      assert.equal(hook.bodies.length, 1);
      assert.equal(hook.bodies[0]!.event, 'paused');
      assert.match(String((hook.bodies[0]!.result as { message: string }).message), /^paused until jobsd resume flaky: 2 consecutive failed runs/);

      const resumed = await runCli(['resume', 'flaky', '--database-url', url, '--jobs-dir', dir]);
      assert.equal(resumed.code, 0, resumed.stderr);
      // The count starts again: one more failure does not pause it, the second one does.
      await pollUntil(async () => (await ledger(url, 'flaky')).filter((r) => r.state === 'failed').length >= 3, { timeoutMs: 15_000, what: 'a failure after the resume' });
      assert.equal((await json(fetch(`http://127.0.0.1:${port}/api/jobs/flaky`))).pause.paused, false);
      await pollUntil(async () => (await json(fetch(`http://127.0.0.1:${port}/api/jobs/flaky`))).pause.paused, { timeoutMs: 15_000, what: 'paused again after two more' });
      assert.equal((await ledger(url, 'flaky')).filter((r) => r.state === 'failed').length, 4);
    } finally {
      await Promise.all([a.stop(), b.stop()]);
      await hook.close();
    }
  });
});

// Issue 21, chains: `schedule: { after: JOB }` fires once per upstream run that ends in one of its `on`
// states, across two agents, with the JOBSD_UPSTREAM_* variables; a cycle or a missing upstream is a
// located error. The downstream command writes its own marks.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { HOURLY, jobsDir, ledger, startAgent } from '../helpers/agent.ts';
import { runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';

describe('chained jobs', () => {
  it('fire once per upstream success across two agents, and not on failure', async () => {
    const url = await freshDatabase('chains');
    const dir = jobsDir({});
    const marks = path.join(dir, 'marks');
    writeFileSync(marks, '');
    // Succeeds on even seconds, fails on odd ones.
    writeFileSync(path.join(dir, 'up.yaml'), 'schedule: every 1s\noverlap: allow\ntask: { type: command, command: \'test $(( $(date -d "$JOBSD_FIRE_TIME" +%s) % 2 )) -eq 0\' }\n');
    writeFileSync(
      path.join(dir, 'down.yaml'),
      `schedule: { after: up }\noverlap: allow\ntask: { type: command, command: 'echo "$JOBSD_FIRE_TIME $JOBSD_UPSTREAM_JOB $JOBSD_UPSTREAM_FIRE_TIME $JOBSD_UPSTREAM_STATUS $JOBSD_UPSTREAM_RUN_ID" >> ${marks}' }\n`,
    );
    const agents = [await startAgent({ name: 'ca', jobsDir: dir, databaseUrl: url }), await startAgent({ name: 'cb', jobsDir: dir, databaseUrl: url })];
    let up: Awaited<ReturnType<typeof ledger>>;
    try {
      up = await pollUntil(async () => {
        const rows = (await ledger(url, 'up')).filter((r) => r.finished_at !== null);
        return rows.length >= 8 ? rows : undefined;
      }, { timeoutMs: 30_000, what: 'eight upstream runs' });
      // The downstream runs of these upstream successes end too.
      await pollUntil(async () => {
        const ended = new Set((await ledger(url, 'down')).filter((r) => r.finished_at !== null).map((r) => r.fire_time.getTime()));
        return up.filter((r) => r.state === 'succeeded').every((r) => ended.has(r.fire_time.getTime()));
      }, { timeoutMs: 20_000, what: 'the downstream runs' });
    } finally {
      await Promise.all(agents.map((a) => a.stop()));
    }
    const all = await ledger(url, 'up');
    const down = await ledger(url, 'down');
    const lines = readFileSync(marks, 'utf8').split('\n').filter(Boolean);
    const succeeded = up.filter((r) => r.state === 'succeeded');
    assert.ok(succeeded.length >= 3 && up.some((r) => r.state === 'failed'), up.map((r) => r.state).join(' '));
    for (const r of succeeded) {
      const t = r.fire_time.toISOString();
      const mine = lines.filter((l) => l.startsWith(`${t} `));
      assert.equal(mine.length, 1, `one downstream run for ${t}: ${lines.join(' | ')}`);
      assert.equal(mine[0], `${t} up ${t} succeeded ${r.run_id}`);
    }
    for (const r of up.filter((u) => u.state === 'failed')) {
      assert.ok(!lines.some((l) => l.startsWith(r.fire_time.toISOString())), `no downstream run for the failed ${r.fire_time.toISOString()}`);
    }
    // Every downstream fire is an upstream success's (none for a failure), one row each by the ledger's key.
    const upState = new Map(all.map((r) => [r.fire_time.getTime(), r.state]));
    assert.ok(down.every((r) => upState.get(r.fire_time.getTime()) === 'succeeded'), down.map((r) => `${r.fire_time.toISOString()}:${upState.get(r.fire_time.getTime())}`).join(' '));
    assert.ok(down.filter((r) => r.finished_at !== null).every((r) => r.state === 'succeeded'), down.map((r) => r.state).join(' '));
  });

  it('a cycle and a missing upstream are located errors; next says what a chained job waits for', async () => {
    const dir = jobsDir({
      'a.yaml': 'schedule: { after: b }\ntask: { type: command, command: "true" }\n',
      'b.yaml': 'description: x\nschedule:\n  after: a\ntask: { type: command, command: "true" }\n',
      'c.yaml': 'schedule: { after: nope }\ntask: { type: command, command: "true" }\n',
      'd.yaml': 'schedule: { after: e, on: [failed, timed_out] }\ntask: { type: command, command: "true" }\n',
      'e.yaml': `${HOURLY}\ntask: { type: command, command: "true" }\n`,
    });
    const r = await runCli(['validate', dir]);
    assert.equal(r.code, 1);
    assert.equal(
      r.stdout,
      [
        `${dir}/a.yaml:1:20: schedule.after: a cycle of after: a → b → a: one job of it must have a schedule of its own`,
        `${dir}/b.yaml:3:10: schedule.after: a cycle of after: b → a → b: one job of it must have a schedule of its own`,
        `${dir}/c.yaml:1:20: schedule.after: no job "nope" to run after: jobsd list shows the jobs`,
        '',
      ].join('\n'),
    );
    const next = await runCli(['next', path.join(dir, 'd.yaml')]);
    assert.equal(next.code, 0, next.stderr);
    assert.equal(next.stdout, 'Schedule: after e (failed or timed_out)\nRuns each time a run of e ends failed or timed_out (no fires of its own).\n');
  });

  it('an upstream run lost with its agent (heartbeat lost, no retry left) fires the jobs chained on failure, once, on the live agent', async (t) => {
    const url = await freshDatabase('chains_lost');
    const dir = jobsDir({});
    const marks = path.join(dir, 'marks');
    writeFileSync(marks, '');
    writeFileSync(path.join(dir, 'up.yaml'), `${HOURLY}\nlease: 10s\ntask: { type: command, command: ["sleep", "120"] }\n`);
    writeFileSync(path.join(dir, 'cleanup.yaml'), `schedule: { after: up, on: [failed] }\ntask: { type: command, command: 'echo "$JOBSD_UPSTREAM_FIRE_TIME $JOBSD_UPSTREAM_STATUS $JOBSD_INSTANCE" >> ${marks}' }\n`);
    const a = await startAgent({ name: 'la', jobsDir: dir, databaseUrl: url, args: ['--role', 'worker'] });
    t.after(() => a.stop('SIGKILL'));
    const queued = await runCli(['run', 'up', '--jobs-dir', dir, '--database-url', url]);
    assert.equal(queued.code, 0, queued.stderr);
    await pollUntil(() => a.logs.find((l) => l.msg === 'command started' && l.job === 'up'), { timeoutMs: 10_000, what: 'the upstream run on la' });
    const b = await startAgent({ name: 'lb', jobsDir: dir, databaseUrl: url });
    t.after(() => b.stop('SIGKILL'));
    await a.stop('SIGKILL');
    const [lost] = await pollUntil(async () => {
      const rows = await ledger(url, 'up');
      return rows[0]?.state === 'failed' ? rows : undefined;
    }, { timeoutMs: 60_000, intervalMs: 250, what: 'the lost upstream run ended failed' });
    assert.match(String(lost!.result?.message), /heartbeat lost/);
    const line = await pollUntil(() => readFileSync(marks, 'utf8').trim(), { timeoutMs: 45_000, intervalMs: 250, what: 'the chained cleanup run' });
    assert.equal(line, `${lost!.fire_time.toISOString()} failed lb`);
    assert.equal(await b.stop(), 0);
    const runs = await ledger(url, 'cleanup');
    assert.deepEqual(runs.map((r) => [r.fire_time.toISOString(), r.state]), [[lost!.fire_time.toISOString(), 'succeeded']], 'once');
  });

  it('a chained job added later does not fire for the upstream ends before it, and its pruned history does not come back', async (t) => {
    const url = await freshDatabase('chains_added');
    const dir = jobsDir({ 'up.yaml': 'schedule: every 1s\ntask: { type: command, command: ["true"] }\n' });
    const marks = path.join(dir, 'marks');
    writeFileSync(marks, '');
    const agent = await startAgent({ name: 'ad', jobsDir: dir, databaseUrl: url });
    t.after(() => agent.stop('SIGKILL'));
    await pollUntil(async () => (await ledger(url, 'up')).filter((r) => r.state === 'succeeded').length >= 3, { timeoutMs: 15_000, what: 'upstream runs' });
    const addedAt = Date.now(); // the file is written after this: no end before it has a chained job
    writeFileSync(path.join(dir, 'down.yaml'), `schedule: { after: up }\noverlap: allow\ntask: { type: command, command: 'echo "$JOBSD_UPSTREAM_FIRE_TIME" >> ${marks}' }\n`);
    await pollUntil(async () => (await ledger(url, 'down')).filter((r) => r.finished_at !== null).length >= 4, { timeoutMs: 15_000, what: 'chained runs after the file was added' });
    // What retention does with `history: { keep: N }`: the oldest rows go.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const pruned = (await client.query<{ fire_time: Date }>(`DELETE FROM jobsd.fires WHERE job_id = 'down' AND fire_time IN (SELECT fire_time FROM jobsd.fires WHERE job_id = 'down' ORDER BY fire_time LIMIT 2) RETURNING fire_time`)).rows.map((r) => r.fire_time.getTime());
    await client.end();
    assert.equal(pruned.length, 2);
    const prunedAt = Date.now();
    // Two sweeps (every 10 s, for ends at least 5 s old) pass: the scenario is time passing.
    await pollUntil(() => Date.now() > prunedAt + 26_000, { timeoutMs: 30_000, intervalMs: 200, what: 'two sweeps' });
    const endedBefore = (await ledger(url, 'up')).filter((r) => r.finished_at !== null && r.finished_at.getTime() < addedAt).map((r) => r.fire_time.getTime());
    assert.ok(endedBefore.length >= 3);
    const down = new Set((await ledger(url, 'down')).map((r) => r.fire_time.getTime()));
    assert.deepEqual(endedBefore.filter((f) => down.has(f)), [], 'no chained fire for an upstream end before the job existed');
    assert.deepEqual(pruned.filter((f) => down.has(f)), [], 'pruned chained fires are not fired again');
    const fired = readFileSync(marks, 'utf8').trim().split('\n').map((l) => Date.parse(l));
    assert.equal(new Set(fired).size, fired.length, 'each chained fire ran once');
    assert.deepEqual(fired.filter((f) => endedBefore.includes(f)), []);
  });
});

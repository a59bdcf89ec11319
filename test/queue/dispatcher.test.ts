// The dispatcher's handling of fires refused ahead of their time (src/queue/dispatcher.ts): such a fire
// waits to be enqueued when due, and an edit or removal of its job before then (recall) drops that wait;
// a `replace` fire refused ahead replaces the run when due; an older `replace` fire never cancels a newer
// one queued ahead.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import type { JobDefinition } from '../../src/definitions/types.ts';
import { createLogger } from '../../src/log.ts';
import { CLAIM_AHEAD_MS } from '../../src/queue/ahead.ts';
import { Dispatcher } from '../../src/queue/dispatcher.ts';
import { enqueueFire } from '../../src/queue/enqueue-batch.ts';
import { enqueueFires } from '../../src/queue/enqueue-batch.ts';
import { QUEUES } from '../../src/queue/queues.ts';
import { httpJob } from '../helpers/definitions.ts';
import { pollUntil } from '../helpers/poll.ts';
import { queueDatabase } from '../helpers/queue.ts';

const logger = createLogger({ level: 'silent' });

interface Setup {
  pool: pg.Pool;
  boss: PgBoss;
  dispatcher: Dispatcher;
}

/** A fresh queue database and a dispatcher on it, for the length of `body`. */
async function withDispatcher(label: string, body: (setup: Setup) => Promise<void>): Promise<void> {
  const { pool, boss, close } = await queueDatabase(label);
  const dispatcher = new Dispatcher({ pool, boss, instance: 'a', logger, queued: () => undefined });
  try {
    await body({ pool, boss, dispatcher });
  } finally {
    dispatcher.stop();
    await close();
  }
}

/** Every ledger row as `job@<fire time - t>:state`. */
async function fireStates(pool: pg.Pool, t: number): Promise<string[]> {
  const { rows } = await pool.query<{ job_id: string; fire_time: Date; state: string }>(`SELECT job_id, fire_time, state FROM jobsd.fires ORDER BY job_id, fire_time`);
  return rows.map((r) => `${r.job_id}@${r.fire_time.getTime() - t}:${r.state}`);
}

/** The ledger (as fireStates) once the job's fire at `fireTimeMs` has a row: it was decided. */
function decided(pool: pg.Pool, t: number, jobId: string, fireTimeMs: number): Promise<string[]> {
  return pollUntil(
    async () => {
      const states = await fireStates(pool, t);
      return states.some((s) => s.startsWith(`${jobId}@${fireTimeMs - t}:`)) ? states : undefined;
    },
    { timeoutMs: 5_000, what: `the fire of ${jobId} decided when due` },
  );
}

/** An earlier fire of a `replace` job, claimed: the run a new fire replaces. Returns its pg-boss id. */
async function runningReplaceRun({ pool, boss }: Setup, definition: JobDefinition, fireTimeMs: number): Promise<string> {
  assert.equal(await enqueueFire(pool, boss, { definition, fireTimeMs, dueAtMs: Date.now(), instance: 'a' }), 'queued');
  const [running] = await boss.fetch(QUEUES.replace.name);
  assert.equal((running?.data as { jobId?: string } | undefined)?.jobId, definition.id, 'the earlier run is claimed (running)');
  return running!.id;
}

test('a fire refused ahead of its time is enqueued when due, unless its job changed before then (recall)', () =>
  withDispatcher('dispatch-refused', async ({ pool, boss, dispatcher }) => {
    const kept = httpJob({ id: 'kept', overlap: 'skip' });
    const edited = httpJob({ id: 'edited', overlap: 'skip' });
    const t = Date.now() + 60_000;
    // An earlier fire of each job is queued and holds its slot.
    for (const def of [kept, edited]) assert.deepEqual(await enqueueFires(pool, boss, [{ definition: def, fireTimeMs: t, dueAtMs: t, instance: 'a', claimableAtMs: t - CLAIM_AHEAD_MS }]), ['queued']);
    const due = Date.now() + 600;
    const fires = [kept, edited].map((definition) => ({ definition, fireTimeMs: due, dueAtMs: due }));
    for (const fire of fires) dispatcher.dispatch(fire);
    // Refused ahead (no row), then: `edited` is recalled (as when its file changes), `kept` is not.
    await pollUntil(async () => (await fireStates(pool, t)).length === 2 && dispatcher['refused'].size === 2, { what: 'both fires refused ahead' });
    dispatcher.recall(fires[1]!);
    const states = await decided(pool, t, 'kept', due);
    assert.deepEqual(states, ['edited@0:queued', `kept@${due - t}:skipped`, 'kept@0:queued'], 'the recalled fire was never enqueued');
  }));

test('two edits within one take-back: the fire handed over between them is dropped, not queued with the superseded definition', () =>
  withDispatcher('dispatch-two-edits', async ({ pool, dispatcher }) => {
    const due = Date.now() + 30_000;
    const v1 = { definition: httpJob({ id: 'job', overlap: 'allow' }), fireTimeMs: due, dueAtMs: due, leadMs: 500 };
    const version = (hash: string, fireTimeMs = due) => ({ ...v1, fireTimeMs, dueAtMs: fireTimeMs, definition: { ...v1.definition, hash } });
    dispatcher.dispatch(v1);
    await pollUntil(async () => (await fireStates(pool, due)).length === 1 || undefined, { what: 'v1 queued ahead' });
    // The file changes twice in quick succession, as the ticker sees it: each edit takes the fire back
    // and hands it over anew; the second comes before the first take-back is done.
    dispatcher.recall(v1);
    const v2 = version('v2');
    dispatcher.dispatch(v2); // waits for v1's take-back
    dispatcher.recall(v2);
    // The third version has no fire at that instant, only a later one.
    await dispatcher.recalled('job');
    dispatcher.dispatch(version('v3', due + 1000));
    await pollUntil(async () => (await fireStates(pool, due)).includes('job@1000:queued') || undefined, { what: "v3's fire queued" });
    assert.deepEqual(await fireStates(pool, due), ['job@1000:queued'], 'the fire of v2, taken back, was not queued');
  }));

test('replace: a fire refused ahead replaces the running run when due; an older fire does not cancel a newer one queued ahead', () =>
  withDispatcher('dispatch-replace', async (setup) => {
    const { pool, boss, dispatcher } = setup;
    const def = httpJob({ id: 'r', overlap: 'replace' });
    const t = Date.now() + 60_000;
    // A newer fire queued ahead: an older fire (a catch-up, a manual run) enqueued now is refused, and leaves it alone.
    assert.deepEqual(await enqueueFires(pool, boss, [{ definition: def, fireTimeMs: t, dueAtMs: t, instance: 'a', claimableAtMs: t - CLAIM_AHEAD_MS }]), ['queued']);
    assert.equal(await enqueueFire(pool, boss, { definition: def, fireTimeMs: t - 30_000, dueAtMs: Date.now(), instance: 'a' }), 'skipped');
    assert.deepEqual(await fireStates(pool, t), ['r@-30000:skipped', 'r@0:queued']);

    // Another job's run is running; its next fire, due in 600 ms, is refused ahead, then enqueued when due: it replaces the run.
    const other = httpJob({ id: 's', overlap: 'replace' });
    const earlier = Date.now() - 1_000;
    const running = await runningReplaceRun(setup, other, earlier);
    const due = Date.now() + 600;
    dispatcher.dispatch({ definition: other, fireTimeMs: due, dueAtMs: due });
    await pollUntil(async () => dispatcher['refused'].size === 1, { what: 'refused ahead' });
    const states = await decided(pool, t, 's', due);
    assert.deepEqual(states.filter((x) => x.startsWith('s@')), [`s@${earlier - t}:cancelled`, `s@${due - t}:queued`]);
    assert.equal((await boss.getJobById(QUEUES.replace.name, running))?.state, 'cancelled', 'the running run was replaced when the fire was due');
  }));

test('replace: a fire that falls due between its dispatch and its batch replaces the running run (never recorded skipped)', () =>
  withDispatcher('dispatch-replace-late', async (setup) => {
    const { pool, boss, dispatcher } = setup;
    const def = httpJob({ id: 'late', overlap: 'replace' });
    const running = await runningReplaceRun(setup, def, Date.now() - 1_000);
    const due = Date.now() + 2;
    dispatcher.dispatch({ definition: def, fireTimeMs: due, dueAtMs: due }); // not due yet: batched
    while (Date.now() <= due + 1); // the event loop is busy until after it is due: the batch sees it due
    const states = await decided(pool, due, 'late', due);
    assert.ok(states.includes('late@0:queued'), `the fire was queued, not skipped: ${states.join(', ')}`);
    assert.equal((await boss.getJobById(QUEUES.replace.name, running))?.state, 'cancelled', 'the running run was replaced');
  }));

// The fetch loop (src/workers/fetch-loop.ts) against a real pg-boss: it claims in batches of at most
// MAX_FETCH_BATCH and goes on fetching after a full batch, so one agent still claims everything it has
// room for. (That two agents woken at the same instant then share the runs is measured by the precision
// benchmark, not asserted here: when both fetch at once, the first can claim its next batch before the
// other's statement has skipped past the rows it locked, and which agent gets what is a race.)
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { PgBoss } from 'pg-boss';
import { createLogger } from '../../src/log.ts';
import { QUEUES } from '../../src/queue/queues.ts';
import { FetchLoop, MAX_FETCH_BATCH } from '../../src/workers/fetch-loop.ts';
import { pollUntil } from '../helpers/poll.ts';
import { queueDatabase } from '../helpers/queue.ts';

const QUEUE = QUEUES.allow.name;
const RUNS = MAX_FETCH_BATCH * 3;

/** A loop whose runs stay active until `release` is called, recording the batch size of each fetch. */
function holdingLoop(boss: PgBoss, concurrency: number) {
  const claimed: string[] = [];
  const batches: number[] = [];
  let release!: () => void;
  const released = new Promise<void>((resolve) => (release = resolve));
  const fetch = boss.fetch.bind(boss);
  const spied = Object.create(boss) as PgBoss;
  spied.fetch = ((name: string, options: { batchSize: number }) => {
    batches.push(options.batchSize);
    return fetch(name, options);
  }) as PgBoss['fetch'];
  const loop = new FetchLoop<object>({
    boss: spied,
    queue: QUEUE,
    concurrency,
    heartbeatMs: 60_000,
    logger: createLogger({ level: 'silent' }),
    run: async (job) => {
      claimed.push(job.id);
      await released;
      await boss.complete(QUEUE, job.id);
    },
  });
  /** Lets the held runs end and waits for them: also when an assertion failed, or the test would hang. */
  const end = async () => {
    release();
    loop.stop();
    await loop.settled();
  };
  return { loop, claimed, batches, end };
}

async function queueRuns(boss: PgBoss): Promise<void> {
  await boss.insert(QUEUE, Array.from({ length: RUNS }, (_, i) => ({ data: { i } })));
}

test('one agent claims all it has room for, one batch of at most MAX_FETCH_BATCH at a time', async () => {
  const db = await queueDatabase('fetch-loop-one');
  try {
    await queueRuns(db.boss);
    const a = holdingLoop(db.boss, RUNS);
    try {
      a.loop.wake();
      await pollUntil(() => a.claimed.length === RUNS, { what: `all ${RUNS} runs claimed` });
      assert.ok(a.batches.every((n) => n <= MAX_FETCH_BATCH), `batch sizes asked: ${a.batches.join(', ')}`);
    } finally {
      await a.end();
    }
  } finally {
    await db.close();
  }
});

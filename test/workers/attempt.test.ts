// One claimed attempt (src/workers/attempt.ts), against a real pg-boss: a `replace` run claimed ahead and
// held until due does not start once it has been cancelled meanwhile, which its claim would learn only at
// its next heartbeat refresh; when nothing cancelled it, it starts at its due time.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import type { Job } from 'pg-boss';
import { createLogger } from '../../src/log.ts';
import { COMMAND_CLAIM_AHEAD_MS } from '../../src/queue/ahead.ts';
import { enqueueFires } from '../../src/queue/enqueue-batch.ts';
import type { FireData } from '../../src/queue/enqueue.ts';
import { QUEUES } from '../../src/queue/queues.ts';
import { Attempts } from '../../src/workers/attempt.ts';
import { EndsInFlight } from '../../src/workers/until-written.ts';
import { commandJob, versionsOf } from '../helpers/definitions.ts';
import { queueDatabase } from '../helpers/queue.ts';

async function heldReplaceRun(label: string, cancelWhileHeld: boolean, leaseHeld = true) {
  const { pool, boss, close } = await queueDatabase(label);
  try {
    const marker = path.join(mkdtempSync(path.join(tmpdir(), 'jobsd-attempt-')), 'ran');
    const def = commandJob({ id: `held-${label}`, overlap: 'replace', task: { command: ['/bin/sh', '-c', `touch ${marker}`] } });
    const dueMs = Date.now() + 800;
    assert.deepEqual(await enqueueFires(pool, boss, [{ definition: def, fireTimeMs: dueMs, dueAtMs: dueMs, instance: 'a', claimableAtMs: dueMs - COMMAND_CLAIM_AHEAD_MS }]), ['queued']);
    const [job] = await boss.fetch<FireData>(QUEUES.replace.name, { ignoreStartAfter: true });
    assert.ok(job, 'claimed ahead of its time');
    const attempts = new Attempts({ boss, pool, instance: 'a', logger: createLogger({ level: 'silent' }), now: Date.now, ends: new EndsInFlight(), definitions: versionsOf(def) });
    const lease = { signal: new AbortController().signal, held: () => leaseHeld, leftMs: () => (leaseHeld ? 30_000 : -1), leaseMs: 30_000 };
    const running = attempts.run(QUEUES.replace.name, job as Job<FireData>, lease, new AbortController().signal);
    if (cancelWhileHeld) await boss.cancel(QUEUES.replace.name, job.id); // what a newer fire's enqueue does
    const end = await running;
    return { end, ran: existsSync(marker), afterDue: Date.now() >= dueMs };
  } finally {
    await close();
  }
}

test('a replace run cancelled while it is held until due does not start', async () => {
  const { end, ran } = await heldReplaceRun('attempt-cancelled', true);
  assert.equal(ran, false, 'the command did not run');
  assert.deepEqual(end, { willRetry: false, givenBack: false, abandoned: true });
});

test('a run whose lease ran out while it was held (the agent was paused) does not start', async () => {
  const { end, ran } = await heldReplaceRun('attempt-lease-lost', false, false);
  assert.equal(ran, false, 'the command did not run');
  assert.deepEqual(end, { willRetry: false, givenBack: false, abandoned: true });
});

test('a replace run held until due and not cancelled starts at its due time', async () => {
  const { end, ran, afterDue } = await heldReplaceRun('attempt-kept', false);
  assert.equal(ran, true, 'the command ran');
  assert.ok(afterDue, 'not before its due time');
  assert.equal(end.failure, undefined);
});

// The dispatch lease's confirmations between agents of different hand-over rules (a rolling upgrade): a
// holder's range confirms a standby's fires only when both hand fires over by the same rule; otherwise
// the standby dispatches them itself when they stay unconfirmed (a duplicate is a no-op), and none is lost.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { HANDOVER_RULE, handoverAt } from '../../src/queue/ahead.ts';
import { DispatchLease } from '../../src/queue/dispatch-lease.ts';
import { confirmationPayload } from '../../src/queue/dispatch-notice.ts';
import { createLogger } from '../../src/log.ts';
import type { Fire } from '../../src/ticker/ticker.ts';
import { commandJob } from '../helpers/definitions.ts';
import { pollUntil } from '../helpers/poll.ts';
import { queueDatabase } from '../helpers/queue.ts';

const TICKER_DIGEST = '0badc0de';

async function standby(label: string) {
  const db = await queueDatabase(label);
  const enqueued: Fire[] = [];
  const lease = new DispatchLease({
    pool: db.pool,
    instance: 'new-agent',
    logger: createLogger({ level: 'silent' }),
    now: () => Date.now(),
    digest: () => TICKER_DIGEST,
    enqueue: (fires) => enqueued.push(...fires),
  });
  await lease.start(); // the first agent names itself: make another the holder, as in a cluster
  lease.notice(confirmationPayload('old-agent', 99, TICKER_DIGEST, { decided: [], undecided: [] }));
  lease.listening();
  return { lease, enqueued, close: db.close };
}

/** A fire handed over now by the standby's ticker, due in `leadMs`. */
function handedOver(id = 'x', leadMs = 950): Fire {
  const dueAtMs = Date.now() + leadMs;
  return { definition: commandJob({ id, overlap: 'skip' }), fireTimeMs: dueAtMs, dueAtMs, leadMs };
}

test('a range from a holder with another hand-over rule confirms nothing: the standby dispatches the fire itself', async () => {
  const { lease, enqueued, close } = await standby('lease-rule-old');
  try {
    const fire = handedOver();
    lease.hold(fire);
    // An agent of the earlier rule hands this fire over later (500 ms ahead), so its range up to now does
    // not include it: were the range believed, the fire would be dropped here and never dispatched.
    const at = handoverAt(fire);
    lease.notice(confirmationPayload('old-agent', 99, TICKER_DIGEST, { range: { fromMs: at - 1000, toMs: at + 10 }, decided: [], undecided: [] }));
    await pollUntil(() => enqueued.length > 0 || undefined, { timeoutMs: 5_000, what: 'the standby to enqueue the unconfirmed fire' });
    assert.deepEqual(enqueued.map((f) => f.fireTimeMs), [fire.fireTimeMs]);
  } finally {
    lease.stop();
    await close();
  }
});

test('a range from a holder with the same rule confirms the fires it covers', async () => {
  const { lease, enqueued, close } = await standby('lease-rule-same');
  try {
    const fire = handedOver('x', 400);
    lease.hold(fire);
    const at = handoverAt(fire);
    lease.notice(confirmationPayload('old-agent', 99, `${TICKER_DIGEST}.${HANDOVER_RULE}`, { range: { fromMs: at - 1000, toMs: at + 10 }, decided: [], undecided: [] }));
    // Confirmed: it is never enqueued here, neither at its grace after the hand-over nor after its due time.
    // One handed over after the range: unconfirmed, to know when the grace has passed.
    const other: Fire = { ...handedOver('y'), dueAtMs: fire.dueAtMs + 100, fireTimeMs: fire.fireTimeMs + 100, leadMs: 50 };
    lease.hold(other);
    await pollUntil(() => enqueued.length > 0 || undefined, { timeoutMs: 5_000, what: 'the unconfirmed fire to be enqueued' });
    // Held until due would be a failure too: the covered fire's grace past its due time ends as well.
    await pollUntil(() => Date.now() > fire.dueAtMs + 600 || undefined, { timeoutMs: 5_000, what: "past the covered fire's due time and grace" });
    assert.deepEqual(enqueued.map((f) => f.fireTimeMs), [other.fireTimeMs]);
  } finally {
    lease.stop();
    await close();
  }
});

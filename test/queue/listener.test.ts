// The listening connection (src/queue/listener.ts) through a TCP proxy that can stop answering: a
// statement left without an answer is failed by the next periodic check (expireStale) rather than by a
// timer of its own, and the connection is then replaced; an answered statement is never expired.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../../src/log.ts';
import { QUERY_TIMEOUT_MS, QueueListener } from '../../src/queue/listener.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';
import { tcpRelay } from '../helpers/tcp-relay.ts';

test('a statement the listening connection never answers is failed by the next check, and the connection replaced', { timeout: 30_000 }, async () => {
  const relay = await tcpRelay(await freshDatabase('listener-stale'));
  let connected = 0;
  const listener = new QueueListener({
    connectionString: relay.url,
    applicationName: 'jobsd test (listener)',
    logger: createLogger({ level: 'silent' }),
    onNotify: () => undefined,
    onConnected: () => connected++,
  });
  try {
    await listener.start();
    assert.equal(connected, 1);

    // Answered: a check right after it does not expire it.
    const answered = listener.query<{ one: number }>('SELECT 1 AS one', []);
    listener.expireStale();
    assert.equal((await answered)?.rows[0]?.one, 1);

    relay.state.silent = true;
    const hung = listener.query('SELECT 2', []);
    let settled = false;
    hung.then(
      () => (settled = true),
      () => (settled = true),
    );
    listener.expireStale(performance.now() + QUERY_TIMEOUT_MS - 1_000); // not old enough yet
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, 'still waiting for its answer');
    listener.expireStale(performance.now() + QUERY_TIMEOUT_MS + 5_000); // found by the next check, 15 s after it was sent
    await assert.rejects(hung, /no answer on the listening connection for 15 s/);
    assert.equal(await listener.query('SELECT 3', []), undefined, 'no connection while it is being replaced');

    relay.state.silent = false;
    await pollUntil(() => connected === 2, { what: 'the listening connection replaced', timeoutMs: 10_000 });
    const again = await listener.query<{ one: number }>('SELECT 1 AS one', []);
    assert.equal(again?.rows[0]?.one, 1);
  } finally {
    await listener.stop();
    relay.close();
  }
});

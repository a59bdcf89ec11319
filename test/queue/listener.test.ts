// The listening connection (src/queue/listener.ts) through a TCP proxy that can stop answering: a
// statement left without an answer is failed by the next periodic check (expireStale) rather than by a
// timer of its own, and the connection is then replaced; an answered statement is never expired.
import assert from 'node:assert/strict';
import { createServer, connect, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';
import { createLogger } from '../../src/log.ts';
import { QUERY_TIMEOUT_MS, QueueListener } from '../../src/queue/listener.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';

/** Forwards connections to `target`; while `silent`, nothing the server sends reaches the client. */
async function proxy(target: URL) {
  const state = { silent: false };
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(Number(target.port), target.hostname);
    sockets.add(client).add(upstream);
    client.on('data', (chunk) => upstream.write(chunk));
    upstream.on('data', (chunk) => {
      if (!state.silent) client.write(chunk);
    });
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', close).on('error', close);
    upstream.on('close', close).on('error', close);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = new URL(target);
  url.port = String((server.address() as AddressInfo).port);
  return {
    url: url.toString(),
    state,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

test('a statement the listening connection never answers is failed by the next check, and the connection replaced', { timeout: 30_000 }, async () => {
  const database = new URL(await freshDatabase('listener-stale'));
  const relay = await proxy(database);
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
    listener.expireStale(Date.now() + QUERY_TIMEOUT_MS - 1_000); // not old enough yet
    await new Promise((resolve) => setImmediate(resolve));
    assert.equal(settled, false, 'still waiting for its answer');
    listener.expireStale(Date.now() + QUERY_TIMEOUT_MS);
    await assert.rejects(hung, /no answer on the listening connection within 10 s/);
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

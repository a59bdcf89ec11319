// The agent's periodic queue check (src/workers/queue-worker.ts): when its statement on the listening
// connection never gets an answer, the next tick fails that statement and checks the queues at once
// (on the pool while the connection is replaced), instead of skipping a turn because the hung check was
// still marked under way. The 15 s interval is captured and called by hand; the clock the listener
// judges staleness by (performance.now) is moved forward.
import { DefinitionVersions } from '../../src/catalog/versions.ts';
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type pg from 'pg';
import { createLogger } from '../../src/log.ts';
import { QueueWorkers } from '../../src/workers/queue-worker.ts';
import { pollUntil } from '../helpers/poll.ts';
import { queueDatabase } from '../helpers/queue.ts';
import { tcpRelay } from '../helpers/tcp-relay.ts';

test('the tick that finds the last check unanswered checks the queues itself', { timeout: 60_000 }, async () => {
  const db = await queueDatabase('queue-worker-recheck');
  const relay = await tcpRelay(db.url);
  let checksOnPool = 0;
  const pool = new Proxy(db.pool, {
    get(target, key) {
      if (key === 'query') {
        return (text: unknown, values: unknown) => {
          if (/ AS due/.test(String(text))) checksOnPool++;
          return target.query(text as string, values as unknown[]);
        };
      }
      const value: unknown = Reflect.get(target, key);
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  }) as pg.Pool;
  const realSetInterval = globalThis.setInterval;
  const realNow = performance.now.bind(performance);
  let tick: (() => void) | undefined;
  globalThis.setInterval = ((fn: () => void, ms: number) => {
    if (ms === 15_000) tick = fn;
    return realSetInterval(ms === 15_000 ? () => undefined : fn, ms);
  }) as typeof setInterval;
  let offset = 0;
  performance.now = () => realNow() + offset;
  const workers = new QueueWorkers({ boss: db.boss, pool, connectionString: relay.url, instance: 'r', concurrency: 4, logger: createLogger({ level: 'silent' }), definitions: new DefinitionVersions() });
  try {
    await workers.start();
    globalThis.setInterval = realSetInterval;
    assert.ok(tick, 'the queue check interval was armed');
    relay.state.silent = true;
    tick(); // this check's statement on the listening connection never gets an answer
    await pollUntil(() => relay.state.sentWhileSilent > 0, { what: 'the check sent its statement' });
    offset += 15_000;
    tick(); // the next one, 15 s later
    await pollUntil(() => checksOnPool >= 1, { what: 'a queue check on the pool at that tick' });
  } finally {
    globalThis.setInterval = realSetInterval;
    performance.now = realNow;
    relay.state.silent = false;
    await workers.drain(0).catch(() => undefined);
    relay.close();
    await db.close();
  }
});

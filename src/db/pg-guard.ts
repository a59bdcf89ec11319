// pg-boss 12.38's LISTEN connection (db.js, `disconnect`) calls removeAllListeners() on a pg Client
// whose connection is failing, then ends it; the FATAL message that follows (57P01 when PostgreSQL
// shuts down or restarts) is emitted as 'error' with no listener left, and an EventEmitter 'error'
// without a listener ends the process. A client whose listeners were all removed is being thrown
// away, so its later errors are safe to drop: keep a no-op listener on it. Pinned by
// test/db/pg-guard.test.ts; remove when pg-boss keeps an error listener on discarded clients.

import pg from 'pg';

const GUARDED = Symbol.for('jobsd.pgClientErrorGuard');
const ignore = () => undefined;

export function guardDiscardedPgClients(): void {
  const proto = pg.Client.prototype as unknown as Record<symbol, boolean> & { removeAllListeners: (event?: string | symbol) => unknown };
  if (proto[GUARDED]) return;
  const original = proto.removeAllListeners;
  proto.removeAllListeners = function (this: pg.Client, event?: string | symbol) {
    const result = original.call(this, event);
    if (event === undefined || event === 'error') this.on('error', ignore);
    return result;
  };
  proto[GUARDED] = true;
}

/**
 * Checks a client out of the pool for a multi-statement piece of work. pg-pool takes its own error
 * listener off a client while it is checked out, so a connection dropped meanwhile (a PostgreSQL
 * restart) would emit 'error' with nothing listening and end the process; here the error is kept,
 * the work's next query fails, and the broken client is discarded on release.
 */
/**
 * How long the agent waits for the answer to one statement before it gives the connection up. A
 * connection cut off without being closed (packets dropped) would otherwise hold its pool slot, and
 * the statement's caller, for as long as TCP takes to notice: many minutes.
 */
export const STATEMENT_READ_TIMEOUT_MS = 15_000;

export async function withClient<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  const onError = (error: Error) => (broken ??= error);
  client.on('error', onError);
  try {
    return await work(client);
  } catch (error) {
    // A statement that failed may still be under way on the connection (a read timeout leaves it
    // there), or have left a transaction aborted: the connection is not handed out again.
    broken ??= error as Error;
    throw error;
  } finally {
    client.off('error', onError);
    client.release(broken);
  }
}

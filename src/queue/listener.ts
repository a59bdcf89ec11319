// One LISTEN connection per agent on pg-boss's notification channel: a send on any replica wakes
// the matching queue's fetch loop here at once. The same connection runs the agent's periodic
// queue check, which is its health check too: a connection that cannot answer it is replaced.
//
// The check's statement has no timer of its own: the next check finds it unanswered (expireStale).
// A timer per statement, cleared a few milliseconds later, still woke the idle process when it would
// have expired (Node does not re-arm its timer for a cleared timeout): 4 wake-ups a minute, for nothing.

import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import type { Logger } from '../log.ts';
import { BOSS_SCHEMA, NOTIFY_CHANNEL_SQL } from './boss.ts';

const RECONNECT_MS = [1_000, 2_000, 5_000, 10_000, 30_000];
/** A statement on the listening connection slower than this means the connection is gone. */
export const QUERY_TIMEOUT_MS = 10_000;

export interface ListenerOptions {
  connectionString: string;
  applicationName: string;
  logger: Logger;
  /** A send landed on a queue: the payload is its name, or `name@times` for runs queued ahead (src/queue/ahead.ts). */
  onNotify: (payload: string) => void;
  /** After each (re)connection: notifications sent while it was down are lost, so look at every queue. */
  onConnected: () => void;
  /** The connection was lost (notifications are not heard until onConnected). */
  onLost?: () => void;
}

export class QueueListener {
  private readonly options: ListenerOptions;
  private client: pg.Client | undefined;
  /** The statement waiting for its answer, if any. */
  private pending: { since: number; fail: (err: Error) => void } | undefined;
  private reconnecting = false;
  private stopped = false;

  constructor(options: ListenerOptions) {
    this.options = options;
  }

  /** Connects and listens; throws when the database cannot be reached at all. */
  async start(): Promise<void> {
    await this.connect();
  }

  private async connect(): Promise<void> {
    const { connectionString, applicationName } = this.options;
    const client = new pg.Client({
      connectionString,
      application_name: applicationName,
      keepAlive: true,
      keepAliveInitialDelayMillis: 10_000,
      connectionTimeoutMillis: QUERY_TIMEOUT_MS,
    });
    client.on('notification', (message) => {
      if (message.payload) this.options.onNotify(message.payload);
    });
    client.on('error', (err) => this.lost(client, err));
    client.on('end', () => this.lost(client, new Error('the listening connection closed')));
    try {
      await client.connect();
      // Timed, so that the SELECT and LISTEN of a reconnect cannot hang it.
      const { rows } = await client.query<{ channel: string }>(timed(`SELECT ${NOTIFY_CHANNEL_SQL} AS channel`, [BOSS_SCHEMA]));
      await client.query(timed(`LISTEN "${rows[0]!.channel}"`, []));
    } catch (err) {
      client.removeAllListeners('end');
      await client.end().catch(() => undefined);
      throw err;
    }
    if (this.stopped) {
      await client.end().catch(() => undefined);
      return;
    }
    this.client = client;
    this.options.onConnected();
  }

  /**
   * Runs a statement on the listening connection. Undefined when there is none right now; a
   * failure, or no answer by the time expireStale finds it QUERY_TIMEOUT_MS old, replaces the
   * connection (and rejects).
   */
  async query<R extends pg.QueryResultRow>(text: string, values: unknown[]): Promise<pg.QueryResult<R> | undefined> {
    const client = this.client;
    if (!client) return undefined;
    try {
      return await new Promise<pg.QueryResult<R>>((resolve, reject) => {
        const pending = { since: performance.now(), fail: reject };
        this.pending = pending;
        client
          .query<R>(text, values)
          .then(resolve, reject)
          .finally(() => {
            if (this.pending === pending) this.pending = undefined;
          });
      });
    } catch (err) {
      this.lost(client, err as Error);
      throw err;
    }
  }

  /**
   * Called by the periodic check: a statement unanswered for QUERY_TIMEOUT_MS or more means the
   * connection is gone. `now` is on performance.now()'s clock (monotonic: a wall-clock step changes nothing).
   */
  expireStale(now = performance.now()): void {
    const pending = this.pending;
    if (!pending || now - pending.since < QUERY_TIMEOUT_MS) return;
    this.pending = undefined;
    pending.fail(new Error(`no answer on the listening connection for ${Math.round((now - pending.since) / 1000)} s`));
  }

  private lost(client: pg.Client, err: Error): void {
    if (this.stopped || client !== this.client) return;
    this.client = undefined;
    client.removeAllListeners('end');
    client.on('error', () => undefined);
    void client.end().catch(() => undefined);
    this.options.onLost?.();
    this.options.logger.warn({ err }, 'lost the connection that listens for queued runs: reconnecting (meanwhile the queue check, on the pool, finds runs within 15 s)');
    void this.reconnect();
  }

  private async reconnect(): Promise<void> {
    if (this.reconnecting) return;
    this.reconnecting = true;
    try {
      for (let attempt = 0; !this.stopped; attempt++) {
        await sleep(RECONNECT_MS[Math.min(attempt, RECONNECT_MS.length - 1)]!, undefined, { ref: false });
        if (this.stopped) return;
        try {
          await this.connect();
          this.options.logger.info('listening for queued runs again');
          return;
        } catch (err) {
          this.options.logger.debug({ err }, 'reconnecting the listening connection failed');
        }
      }
    } finally {
      this.reconnecting = false;
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    const client = this.client;
    this.client = undefined;
    if (client) {
      client.removeAllListeners('end');
      client.on('error', () => undefined);
      await client.end().catch(() => undefined);
    }
  }
}

/** A statement that pg fails after QUERY_TIMEOUT_MS (pg reads `query_timeout` per query; its typings omit it). */
function timed(text: string, values: unknown[]): pg.QueryConfig {
  return { text, values, query_timeout: QUERY_TIMEOUT_MS } as pg.QueryConfig;
}

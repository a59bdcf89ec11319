// The periodic queue check of one agent, every 15 s, in place of pg-boss's polling and supervisor
// timers: it wakes the fetch loops of queues with due runs nobody claimed (a retry whose delay ran out,
// a lost notification), and fails over runs whose lease has lapsed (their agent died, hangs or is cut
// off), so that they are retried; but not within a lease of the database's restart or of this agent's
// own last failed look at it (src/queue/queue-check.ts, failoverHoldMs). It runs on the listening
// connection, which it checks at the same time, and on the pool while that one reconnects.

import { performance } from 'node:perf_hooks';
import type { PgBoss } from 'pg-boss';
import type pg from 'pg';
import type { Logger } from '../log.ts';
import { queueTable } from '../queue/boss.ts';
import type { QueueListener } from '../queue/listener.ts';
import { checkQueues, failoverHoldMs, recordLostRuns } from '../queue/queue-check.ts';

/** Between two queue checks. */
const CHECK_MS = 15_000;

export interface QueueCheckerOptions {
  boss: PgBoss;
  pool: pg.Pool;
  listener: QueueListener;
  logger: Logger;
  /** The queues this agent works on. */
  queues: () => string[];
  /** Wakes the fetch loop of a queue with due runs. */
  wake: (queue: string) => void;
}

export class QueueChecker {
  private readonly options: QueueCheckerOptions;
  private timer: NodeJS.Timeout | undefined;
  private checking = false;
  /** A check was asked for while one was under way. */
  private recheck = false;
  private stopped = false;
  /** performance.now() of this agent's last failed look at the database. */
  private lastFailedAt = -Infinity;

  constructor(options: QueueCheckerOptions) {
    this.options = options;
  }

  start(): void {
    this.timer = setInterval(() => {
      this.options.listener.expireStale(); // the previous check's statement, if it still has no answer
      void this.check();
    }, CHECK_MS);
  }

  stop(): void {
    this.stopped = true;
    clearInterval(this.timer);
  }

  async check(): Promise<void> {
    if (this.checking) {
      // Asked while one is under way (its statement was just expired, and it has not seen that yet):
      // run again once it ends, rather than wait for the next interval.
      this.recheck = true;
      return;
    }
    this.checking = true;
    this.recheck = false;
    const { boss, pool, listener, logger } = this.options;
    try {
      const queues = this.options.queues();
      // Without a listening connection (it is reconnecting), on the pool: runs are still found.
      const states = (await checkQueues(listener, boss, queues)) ?? (await checkQueues(pool, boss, queues));
      for (const state of states ?? []) if (state.due > 0) this.options.wake(state.queue);
      if (!states) this.lastFailedAt = performance.now();
      await this.failOver((states ?? []).filter((s) => s.lost > 0));
    } catch (err) {
      this.lastFailedAt = performance.now();
      logger.warn({ err }, 'checking the queues failed');
    } finally {
      this.checking = false;
      if (this.recheck && !this.stopped) void this.check();
    }
  }

  /** Has pg-boss fail the lost runs into retry, unless their holders are still owed a lease. */
  private async failOver(lost: { queue: string; lost: number }[]): Promise<void> {
    if (lost.length === 0) return;
    const { boss, pool, logger } = this.options;
    const fields = { queues: lost.map((s) => s.queue), runs: lost.reduce((n, s) => n + s.lost, 0) };
    // Holders get a full lease after an outage (of the database, or of this agent's connection) to renew
    // and to write their ends before anything is failed over.
    const hold = await failoverHoldMs(pool, boss, fields.queues, performance.now() - this.lastFailedAt);
    if (hold > 0) {
      logger.info({ ...fields, wait_ms: Math.round(hold) }, 'runs look lost, but the database or this agent was unreachable less than a lease ago: their agents get a full lease to renew first');
      return;
    }
    logger.warn(fields, 'runs lost their agent (lease or expiry overdue): failing them so they are retried');
    for (const { queue } of lost) {
      await boss.supervise(queue);
      const ended = await recordLostRuns(pool, await queueTable(boss, queue), queue);
      if (ended > 0) logger.warn({ queue, runs: ended }, 'runs whose agent stopped and that had no retries left are recorded failed');
    }
  }
}

// The agent's periodic upkeep of the database side, apart from firing and running: the clock offset
// against the database (every 10 minutes), ledger retention (hourly: the agent-wide period, then each
// job's `history:` limits), and pg-boss's maintenance pass
// (every MAINTENANCE_SECONDS), with the ledger rows of the lost runs that pass fails for good.

import type pg from 'pg';
import type { PgBoss } from 'pg-boss';
import { measureClockOffset } from './db/clock.ts';
import { pruneLedger, type JobHistory } from './db/retention.ts';
import type { Logger } from './log.ts';
import { MAINTENANCE_SECONDS, queueTable } from './queue/boss.ts';
import { recordLostRuns, failoverHoldMs } from './queue/queue-check.ts';
import { QUEUES } from './queue/queues.ts';

const CLOCK_CHECK_MS = 10 * 60_000;
const PRUNE_MS = 60 * 60_000;

export interface HousekeepingOptions {
  pool: pg.Pool;
  boss: PgBoss;
  logger: Logger;
  historyRetentionMs: number;
  /** The `history:` limits of the jobs loaded now, read at each prune. */
  jobHistories: () => JobHistory[];
}

export interface Housekeeping {
  /** Database clock minus local clock: fires are computed by the database's clock. */
  readonly clockOffsetMs: number;
  stop(): void;
}

/** Starts the timers; resolves once the clock has been checked a first time. */
export async function startHousekeeping({ pool, boss, logger, historyRetentionMs, jobHistories }: HousekeepingOptions): Promise<Housekeeping> {
  // Fire by the database's clock, so that replicas with drifting clocks agree on when a fire is due.
  let clockOffsetMs = 0;
  const checkClock = async () => {
    try {
      const sample = await measureClockOffset(pool);
      clockOffsetMs = sample.offsetMs;
      const fields = { offset_ms: Math.round(sample.offsetMs), round_trip_ms: sample.roundTripMs };
      if (Math.abs(sample.offsetMs) > 1000) logger.warn(fields, 'the local clock differs from the database clock by more than 1 s: firing by the database clock (check NTP on this host)');
      else logger.debug(fields, 'clock checked against the database');
    } catch (err) {
      logger.debug({ err }, 'clock check failed');
    }
  };
  /** Set by stop(): a pass still under way meets the closing pool, which is no failure to report. */
  let stopped = false;
  const failed = (what: string) => (err: unknown) => (stopped ? logger.debug({ err }, `${what} failed while stopping`) : logger.warn({ err }, `${what} failed`));
  const prune = () =>
    pruneLedger(pool, historyRetentionMs, jobHistories())
      .then((n) => n > 0 && logger.info({ deleted: n }, 'ledger pruned'))
      .catch(failed('pruning the ledger'));
  // pg-boss's own maintenance (retention of finished jobs, queue statistics), which its supervisor
  // timer would run every 30 s on every agent: here every MAINTENANCE_SECONDS, first at start.
  // The pass can fail lost runs itself: those with no retries left get their ledger rows ended here.
  const maintain = async () => {
    try {
      // Its pass fails over runs whose lease looks lapsed: not within a lease of a database restart.
      const queues = Object.values(QUEUES).map((q) => q.name);
      if ((await failoverHoldMs(pool, boss, queues, Infinity)) > 0) return;
      await boss.supervise();
      for (const { name } of Object.values(QUEUES)) if (!stopped) await recordLostRuns(pool, await queueTable(boss, name), name);
    } catch (err) {
      failed('pg-boss maintenance')(err);
    }
  };

  await checkClock();
  void maintain();
  const timers = [setInterval(checkClock, CLOCK_CHECK_MS), setInterval(prune, PRUNE_MS), setInterval(maintain, MAINTENANCE_SECONDS * 1000)];
  return {
    get clockOffsetMs() {
      return clockOffsetMs;
    },
    stop: () => {
      stopped = true;
      timers.forEach(clearInterval);
    },
  };
}

// The fetch loop of one queue on one agent: claims as many runs as it has free slots whenever it is
// woken (a notification, a run ending, the periodic queue check), in batches of at most
// MAX_FETCH_BATCH so that agents woken together share the runs, starts each at once without
// waiting for the others of its batch, and keeps their heartbeats fresh with one statement for all.
// It never polls: with nothing to do it costs nothing.
//
// Each claimed attempt holds a lease (src/definitions/lease.ts). The loop renews the leases of its
// active runs, and measures on the monotonic clock the time since it sent the last renewal the
// database accepted; at the lease minus its margin the claim is aborted with a `LeaseLost` reason
// (the run's process group is terminated, and an attempt not yet started never starts).

import { performance } from 'node:perf_hooks';
import type { Job, PgBoss } from 'pg-boss';
import { DEFAULT_LEASE_MS, holdMs, renewEveryMs } from '../definitions/lease.ts';
import type { Logger } from '../log.ts';
import { LeaseLost } from './lease-lost.ts';

/**
 * The most runs one fetch claims; a full batch is followed by the next fetch at once. Agents woken by
 * the same notification then take turns, so they share the runs of one instant: with `--concurrency 128`
 * and no cap, whichever agent fetched first took 128 of 200 runs due at once and started them one after
 * the other (about 0.1 ms each) while the other agent had 72.
 */
export const MAX_FETCH_BATCH = 32;

/**
 * Runs ending while a backlog waits (the last fetch was full) free their slots one by one; a fetch per freed
 * slot or two cost PostgreSQL a statement of 1–3 ms per 3 runs under a backlog (the queue's index walks past
 * the rows claimed since its last vacuum): the throughput profile's largest cost. Such a refill waits until
 * half the slots are free, or REFILL_WAIT_MS at most. A wake-up (a notification, the queue check)
 * fetches at once, as does a run's end on an agent with nothing else running.
 */
export const REFILL_WAIT_MS = 20;

export interface FetchLoopOptions<T> {
  boss: PgBoss;
  queue: string;
  /** Runs at once on this agent. */
  concurrency: number;
  /** The most runs one fetch claims (MAX_FETCH_BATCH unless set). */
  maxBatch?: number;
  /** The longest time between two renewals of the active runs' leases (shorter for short leases). */
  heartbeatMs: number;
  /** A claimed job's lease (default DEFAULT_LEASE_MS). */
  leaseOf?: (job: Job<T>) => number;
  /** While true, nothing new is claimed (the agent still has ends to write). */
  held?: () => boolean;
  logger: Logger;
  /**
   * Runs one claimed job and settles it. `lease.signal` is aborted when the job is no longer this
   * agent's (cancelled, failed by a supervisor, its lease lost) or when it outlives its pg-boss expiry.
   */
  run: (job: Job<T>, lease: Lease) => Promise<void>;
}

/** A claimed attempt's hold on its job. */
export interface Lease {
  readonly signal: AbortSignal;
  /** Whether the lease is still this agent's by its own clock: an attempt is started only while it is. */
  held(): boolean;
  /** What is left of it by this agent's clock, in ms (negative once it ran out). */
  leftMs(): number;
  /** The lease's length. */
  readonly leaseMs: number;
}

interface Claimed<T> {
  job: Job<T>;
  claim: AbortController;
  expiry: NodeJS.Timeout;
  leaseMs: number;
  /** performance.now() when the last renewal the database accepted (or the fetch) was sent. */
  renewedAt: number;
  leaseTimer: NodeJS.Timeout | undefined;
}

export class FetchLoop<T> {
  private readonly options: FetchLoopOptions<T>;
  private readonly active = new Map<string, Claimed<T>>();
  private readonly runs = new Set<Promise<void>>();
  /** Whether there may be runs to claim: set by a wake-up or a full batch, cleared by a fetch. */
  private wanted = false;
  private fetching = false;
  /** The fetch in flight, if any: whatever it claims must be seen by a drain. */
  private inFlight: Promise<void> | undefined;
  private stopped = false;
  private heartbeat: NodeJS.Timeout | undefined;
  /** A renewal is in flight. */
  private renewing = false;
  /** A refill waiting for more slots to free (see REFILL_WAIT_MS). */
  private refillTimer: NodeJS.Timeout | undefined;

  constructor(options: FetchLoopOptions<T>) {
    this.options = options;
  }

  get activeCount(): number {
    return this.active.size;
  }

  wake(): void {
    this.wanted = true;
    this.kick();
  }

  private kick(): void {
    clearTimeout(this.refillTimer);
    this.refillTimer = undefined;
    if (!this.fetching && !this.stopped) this.inFlight = this.fetch();
  }

  /**
   * The agent's pending ends are written (a fetch meanwhile was held back): claim again, as after a run's
   * end. Under load this comes after nearly every end written; a fetch at once each time undid the refill's batching.
   */
  resume(): void {
    if (this.wanted) this.refill();
  }

  /** A run ended while runs may be waiting: fetch now, or once more slots are free (REFILL_WAIT_MS at most). */
  private refill(): void {
    const free = this.options.concurrency - this.active.size;
    if (this.active.size === 0 || free >= Math.ceil(this.options.concurrency / 2)) return this.kick();
    this.refillTimer ??= setTimeout(() => {
      this.refillTimer = undefined;
      if (this.wanted) this.kick();
    }, REFILL_WAIT_MS);
  }

  /** Claims nothing more; runs already claimed go on. */
  stop(): void {
    this.stopped = true;
    clearTimeout(this.refillTimer);
  }

  /** Resolves when the fetch in flight (if any) has returned and its runs have started. */
  async idle(): Promise<void> {
    await this.inFlight;
  }

  /** Resolves when every claimed run has ended and been settled. */
  async settled(): Promise<void> {
    await this.inFlight;
    while (this.runs.size > 0) await Promise.allSettled([...this.runs]);
  }

  private async fetch(): Promise<void> {
    const { boss, queue, concurrency, logger } = this.options;
    this.fetching = true;
    try {
      while (this.wanted && !this.stopped) {
        const free = concurrency - this.active.size;
        if (free <= 0) return; // still wanted: the next run to end fetches again
        if (this.options.held?.()) return; // still wanted: woken again once the ends are written
        this.wanted = false;
        const want = Math.min(free, this.options.maxBatch ?? MAX_FETCH_BATCH);
        const sentAt = performance.now();
        const jobs = await boss.fetch<T>(queue, { batchSize: want });
        for (const job of jobs) this.start(job, sentAt);
        if (jobs.length === want) this.wanted = true; // a full batch: there may be more
      }
    } catch (err) {
      this.wanted = true; // tried again when a run ends, at the next notification or queue check
      // During a stop, a database that does not answer is reported once, by the stop itself.
      if (this.stopped) logger.debug({ err, queue }, 'fetching queued runs failed while stopping');
      else logger.warn({ err, queue }, 'fetching queued runs failed');
    } finally {
      this.fetching = false;
    }
  }

  private start(job: Job<T>, sentAt: number): void {
    const claim = new AbortController();
    const expireMs = (job.expireInSeconds ?? 0) * 1000;
    const expiry = setTimeout(() => claim.abort(new Error(`the run outlived its queue expiry of ${job.expireInSeconds} s`)), expireMs > 0 ? expireMs : 2 ** 31 - 1);
    expiry.unref();
    // Keyed by attempt: a retry of a run whose claim lapsed has the same id, and may be claimed here
    // while the lapsed attempt is still ending.
    const key = `${job.id}:${job.retryCount}`;
    const claimed: Claimed<T> = { job, claim, expiry, leaseMs: this.options.leaseOf?.(job) ?? DEFAULT_LEASE_MS, renewedAt: sentAt, leaseTimer: undefined };
    this.active.set(key, claimed);
    this.watchLease(claimed);
    this.scheduleRenewal();
    const lease: Lease = {
      signal: claim.signal,
      held: () => !claim.signal.aborted && this.leaseLeftMs(claimed) > 0,
      leftMs: () => this.leaseLeftMs(claimed),
      leaseMs: claimed.leaseMs,
    };
    const run: Promise<void> = this.options
      .run(job, lease)
      .catch((err: unknown) => this.options.logger.error({ err, queue: this.options.queue }, 'a run failed outside its task'))
      .finally(() => {
        clearTimeout(expiry);
        clearTimeout(claimed.leaseTimer);
        this.active.delete(key);
        this.runs.delete(run);
        if (this.active.size === 0 && this.heartbeat) {
          clearTimeout(this.heartbeat);
          this.heartbeat = undefined;
        }
        if (this.wanted) this.refill();
      });
    this.runs.add(run);
  }

  /** Time left of a claim's lease by this agent's monotonic clock. */
  private leaseLeftMs(c: Claimed<T>): number {
    return c.renewedAt + holdMs(c.leaseMs) - performance.now();
  }

  /**
   * Aborts the claim once its lease has run out without a renewal. The timer is checked against the
   * monotonic clock when it fires (a paused process fires it late; a renewal meanwhile moves it on).
   */
  private watchLease(c: Claimed<T>): void {
    clearTimeout(c.leaseTimer);
    if (c.claim.signal.aborted) return;
    const left = this.leaseLeftMs(c);
    if (left <= 0) {
      const since = Math.round(performance.now() - c.renewedAt);
      c.claim.abort(new LeaseLost(c.leaseMs, since));
      return;
    }
    c.leaseTimer = setTimeout(() => this.watchLease(c), Math.ceil(left) + 1);
    c.leaseTimer.unref();
  }

  /** Arms the next renewal: often enough for the shortest lease held. */
  private scheduleRenewal(): void {
    if (this.heartbeat || this.active.size === 0) return;
    let every = this.options.heartbeatMs;
    for (const c of this.active.values()) every = Math.min(every, renewEveryMs(c.leaseMs));
    this.heartbeat = setTimeout(() => {
      this.heartbeat = undefined;
      void this.refresh().finally(() => this.scheduleRenewal());
    }, every);
  }

  /** The attempts this loop holds, with what is left of their leases (for the watchdog). */
  leases(): Array<{ job: Job<T>; leftMs: number }> {
    return [...this.active.values()].filter((c) => !c.claim.signal.aborted).map((c) => ({ job: c.job, leftMs: this.leaseLeftMs(c) }));
  }

  /**
   * One touch for every active run of the queue, fenced to the attempts this agent claimed: a run
   * it did not refresh is no longer this agent's, and its claim is aborted.
   */
  private async refresh(): Promise<void> {
    if (this.renewing) return;
    const held = [...this.active.values()].filter((c) => !c.claim.signal.aborted);
    if (held.length === 0) return;
    let touched: { settled?: string[] };
    const sentAt = performance.now();
    this.renewing = true;
    try {
      // pg-boss 12 returns the ids it refreshed as `settled` (mapCommandResponse); its typings omit it.
      touched = await this.options.boss.touch(this.options.queue, held.map((c) => c.job));
    } catch (err) {
      const left = Math.min(...held.map((c) => this.leaseLeftMs(c)));
      this.options.logger.warn({ err, queue: this.options.queue, runs: held.length, lease_left_ms: Math.max(0, Math.round(left)) }, 'renewing run leases failed; runs go on until their lease runs out');
      return; // says nothing about the claims
    } finally {
      this.renewing = false;
    }
    if (!touched.settled) return;
    const refreshed = new Set(touched.settled);
    for (const c of held) {
      if (refreshed.has(c.job.id) && !c.claim.signal.aborted) {
        c.renewedAt = Math.max(c.renewedAt, sentAt);
        this.watchLease(c);
      }
      // Ended meanwhile (settled by its own run): not a lost claim.
      if (!refreshed.has(c.job.id) && this.active.get(`${c.job.id}:${c.job.retryCount}`) === c) {
        c.claim.abort(new Error(`run ${c.job.id} is no longer claimed by this agent`));
      }
    }
  }
}

// The fetch loop of one queue on one agent: claims as many runs as it has free slots whenever it is
// woken (a notification, a run ending, the periodic queue check), in batches of at most
// MAX_FETCH_BATCH so that agents woken together share the runs, starts each at once without
// waiting for the others of its batch, and keeps their heartbeats fresh with one statement for all.
// It never polls: with nothing to do it costs nothing.

import type { Job, PgBoss } from 'pg-boss';
import type { Logger } from '../log.ts';

/**
 * The most runs one fetch claims; a full batch is followed by the next fetch at once. Agents woken by
 * the same notification then take turns, so they share the runs of one instant: with `--concurrency 128`
 * and no cap, whichever agent fetched first took 128 of 200 runs due at once and started them one after
 * the other (about 0.1 ms each) while the other agent had 72.
 */
export const MAX_FETCH_BATCH = 32;

export interface FetchLoopOptions<T> {
  boss: PgBoss;
  queue: string;
  /** Runs at once on this agent. */
  concurrency: number;
  /** The most runs one fetch claims (MAX_FETCH_BATCH unless set). */
  maxBatch?: number;
  /** How often the heartbeats of active runs are refreshed. */
  heartbeatMs: number;
  logger: Logger;
  /**
   * Runs one claimed job and settles it. `claim` is aborted when the job is no longer this
   * agent's (cancelled, or failed by a supervisor) or when it outlives its pg-boss expiry.
   */
  run: (job: Job<T>, claim: AbortSignal) => Promise<void>;
}

interface Claimed<T> {
  job: Job<T>;
  claim: AbortController;
  expiry: NodeJS.Timeout;
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
    if (!this.fetching && !this.stopped) this.inFlight = this.fetch();
  }

  /** Claims nothing more; runs already claimed go on. */
  stop(): void {
    this.stopped = true;
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
        this.wanted = false;
        const want = Math.min(free, this.options.maxBatch ?? MAX_FETCH_BATCH);
        const jobs = await boss.fetch<T>(queue, { batchSize: want });
        for (const job of jobs) this.start(job);
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

  private start(job: Job<T>): void {
    const claim = new AbortController();
    const expireMs = (job.expireInSeconds ?? 0) * 1000;
    const expiry = setTimeout(() => claim.abort(new Error(`the run outlived its queue expiry of ${job.expireInSeconds} s`)), expireMs > 0 ? expireMs : 2 ** 31 - 1);
    expiry.unref();
    // Keyed by attempt: a retry of a run whose claim lapsed has the same id, and may be claimed here
    // while the lapsed attempt is still ending.
    const key = `${job.id}:${job.retryCount}`;
    this.active.set(key, { job, claim, expiry });
    this.heartbeat ??= setInterval(() => void this.refresh(), this.options.heartbeatMs);
    const run: Promise<void> = this.options
      .run(job, claim.signal)
      .catch((err: unknown) => this.options.logger.error({ err, queue: this.options.queue }, 'a run failed outside its task'))
      .finally(() => {
        clearTimeout(expiry);
        this.active.delete(key);
        this.runs.delete(run);
        if (this.active.size === 0 && this.heartbeat) {
          clearInterval(this.heartbeat);
          this.heartbeat = undefined;
        }
        if (this.wanted) this.kick();
      });
    this.runs.add(run);
  }

  /**
   * One touch for every active run of the queue, fenced to the attempts this agent claimed: a run
   * it did not refresh is no longer this agent's, and its claim is aborted.
   */
  private async refresh(): Promise<void> {
    const held = [...this.active.values()].filter((c) => !c.claim.signal.aborted);
    if (held.length === 0) return;
    let touched: { settled?: string[] };
    try {
      // pg-boss 12 returns the ids it refreshed as `settled` (mapCommandResponse); its typings omit it.
      touched = await this.options.boss.touch(this.options.queue, held.map((c) => c.job));
    } catch (err) {
      this.options.logger.warn({ err, queue: this.options.queue }, 'refreshing run heartbeats failed');
      return; // says nothing about the claims
    }
    if (!touched.settled) return;
    const refreshed = new Set(touched.settled);
    for (const c of held) {
      // Ended meanwhile (settled by its own run): not a lost claim.
      if (!refreshed.has(c.job.id) && this.active.get(`${c.job.id}:${c.job.retryCount}`) === c) {
        c.claim.abort(new Error(`run ${c.job.id} is no longer claimed by this agent`));
      }
    }
  }
}

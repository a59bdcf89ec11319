// Workers on the pg-boss queues: a fetch loop per queue, woken by one LISTEN connection, the times runs
// queued ahead become claimable, and the periodic queue check (src/workers/queue-checker.ts); each
// claimed fire's attempt is run (src/workers/attempt.ts) and settled in pg-boss, failures left to
// pg-boss to retry, and on shutdown unfinished runs are given back to the queue.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Job, PgBoss } from 'pg-boss';
import type pg from 'pg';
import { coalesce } from './coalesce.ts';
import type { Logger } from '../log.ts';
import type { FireData } from '../queue/enqueue.ts';
import { DEFAULT_LEASE_MS, leaseWithin } from '../definitions/lease.ts';
import { notifyQueue } from '../queue/boss.ts';
import { CLAIM_AHEAD_MS, parseWakePayload, wakeTime } from '../queue/ahead.ts';
import { QueueListener } from '../queue/listener.ts';
import { PauseNotices } from '../queue/pause-notices.ts';
import { DISPATCH_PREFIX } from '../queue/dispatch-notice.ts';
import { FetchLoop, type Lease } from './fetch-loop.ts';
import { QueueChecker } from './queue-checker.ts';
import { EndsInFlight } from './until-written.ts';
import { LeaseWatchdog } from './lease-watchdog.ts';
import { Spawner } from './spawner.ts';
import { QUEUES, queueNamed } from '../queue/queues.ts';
import { WakeTimes } from './wake-times.ts';
import { Attempts, type AttemptHooks } from './attempt.ts';
import type { DefinitionVersions } from '../catalog/versions.ts';

/** How long a drain waits for cancelled runs to end (their kill grace included) before it gives them back anyway. */
const AFTER_ABORT_WAIT_MS = 20_000;
/** The same after abortNow(): commands get SIGKILL within 300 ms. */
const AFTER_URGENT_WAIT_MS = 1_000;
/** How long a drain waits for a fetch in flight to return. */
const FETCH_WAIT_MS = 2_000;

export interface QueueWorkersOptions extends AttemptHooks {
  boss: PgBoss;
  pool: pg.Pool;
  /** For the connection that listens for queued runs. */
  connectionString: string;
  instance: string;
  /** Runs at once per queue on this agent. */
  concurrency: number;
  logger: Logger;
  /** The agent's own database, handed to vm-extract jobs that name none. */
  databaseUrl?: string;
  /** The clock fires are judged by (the database's); defaults to the local clock. */
  now?: () => number;
  /** Where a queued fire's reference is resolved to its definition (src/catalog/versions.ts). */
  definitions: DefinitionVersions;
  /** A dispatch lease's notification on the same channel (src/queue/dispatch-lease.ts). */
  onDispatchNotice?: (payload: string) => void;
  /** The listening connection is up (true) or lost (false). */
  onListening?: (up: boolean) => void;
}

interface ActiveRun {
  queue: string;
  jobId: string;
  controller: AbortController;
  /** Aborted by abortNow(): the run's process group is killed without its kill grace. */
  urgent: AbortController;
}

/** How long the start waits for the spawn helpers at most. */
const SPAWNER_START_WAIT_MS = 5_000;

export class QueueWorkers {
  private readonly options: QueueWorkersOptions;
  private readonly loops = new Map<string, FetchLoop<FireData>>();
  private readonly active = new Set<ActiveRun>();
  private readonly listener: QueueListener;
  private readonly attempts: Attempts;
  private readonly watchdog: LeaseWatchdog;
  /** Forks the commands in a helper process, off this event loop. */
  private readonly spawner: Spawner;
  /** Ends of runs not yet written (the database did not answer): nothing new is claimed meanwhile. */
  readonly ends = new EndsInFlight(() => {
    for (const loop of this.loops.values()) loop.resume();
  });
  /** Per queue: the runs that succeeded in one turn of the event loop are completed in one statement. */
  private readonly completions = new Map<string, (job: Job<FireData>) => Promise<void>>();
  private readonly checker: QueueChecker;
  /** Aborted by abortNow(): the drain stops waiting. */
  private readonly hurry = new AbortController();
  private readonly now: () => number;
  /** When runs queued ahead become claimable, per queue (src/queue/ahead.ts). */
  private readonly wakes: WakeTimes;
  /** Pauses announced on the listening connection (src/queue/pause-notices.ts). */
  private readonly pauses: PauseNotices;

  constructor(options: QueueWorkersOptions) {
    this.options = options;
    this.now = options.now ?? Date.now;
    this.wakes = new WakeTimes(this.now, (queue) => this.wake(queue));
    this.pauses = new PauseNotices(this.now);
    this.watchdog = new LeaseWatchdog(options.logger);
    this.spawner = new Spawner(options.logger);
    this.attempts = new Attempts({ ...options, now: this.now, ends: this.ends, watchdog: this.watchdog, spawner: this.spawner, pauses: this.pauses });
    for (const spec of Object.values(QUEUES)) {
      this.completions.set(spec.name, coalesce((jobs: Job<FireData>[]) => options.boss.complete(spec.name, jobs)));
    }
    this.listener = new QueueListener({
      connectionString: options.connectionString,
      applicationName: `jobsd ${options.instance} (listener)`,
      logger: options.logger,
      onNotify: (payload) => {
        if (this.pauses.heard(payload)) return;
        if (payload.startsWith(DISPATCH_PREFIX)) return options.onDispatchNotice?.(payload);
        const { queue, times } = parseWakePayload(payload);
        if (times.length === 0) this.wake(queue);
        for (const ms of times) this.wakeAt(queue, ms);
      },
      onConnected: () => {
        options.onListening?.(true);
        for (const loop of this.loops.values()) loop.wake();
      },
      onLost: () => options.onListening?.(false),
    });
    this.checker = new QueueChecker({ ...options, listener: this.listener, queues: () => [...this.loops.keys()], wake: (queue) => this.wake(queue) });
  }

  private listening: Promise<void> | undefined;

  /**
   * The listening connection alone, before the ticker starts, for the dispatch lease's confirmations
   * (src/queue/dispatch-lease.ts); a scheduler-only agent runs no worker and needs nothing more.
   */
  listen(): Promise<void> {
    return (this.listening ??= this.listener.start());
  }

  async start(): Promise<void> {
    // The spawn helpers, ready before the first claim, so that every command is forked by one (a helper
    // that does not start in time leaves the agent forking commands itself until it has).
    await Promise.race([this.spawner.ready(), sleep(SPAWNER_START_WAIT_MS, false, { ref: false })]);
    for (const spec of Object.values(QUEUES)) {
      this.loops.set(
        spec.name,
        new FetchLoop<FireData>({
          boss: this.options.boss,
          queue: spec.name,
          concurrency: this.options.concurrency,
          // Replace-mode runs: a cancellation by another replica reaches the run within a second.
          heartbeatMs: spec.renewMs,
          // The job's lease, bounded by the heartbeat the run was queued with (an older version's was 10 s).
          leaseOf: (job) => Math.min(job.data.leaseMs ?? job.data.definition?.leaseMs ?? DEFAULT_LEASE_MS, job.heartbeatSeconds ? leaseWithin(job.heartbeatSeconds) : Infinity),
          held: () => this.ends.pending > 0,
          logger: this.options.logger,
          run: (job, lease) => this.handle(spec.name, job, lease),
        }),
      );
    }
    if (this.listening) {
      await this.listening;
      for (const loop of this.loops.values()) loop.wake(); // connected before the loops were made
    } else await this.listen(); // wakes every loop once connected
    this.checker.start();
  }

  /**
   * Settles a job the moment its run ends, and again until the database answers (the run's lease is
   * renewed meanwhile). The attempt fence of the job object makes a settlement of an attempt this
   * agent no longer holds a no-op.
   */
  private async settle(queue: string, job: Job<FireData>, error: Error | undefined): Promise<void> {
    const { boss, logger } = this.options;
    const fields = { job: job.data.jobId, run: job.id, fire: job.data.fireTime, attempt: job.retryCount + 1 };
    await this.ends.write('settling the run in the queue', fields, logger, () =>
      error ? boss.fail(queue, job, { message: error.message }) : this.completions.get(queue)!(job),
    );
    // The next run of a `queue`-mode job waited for this one: claim it now (pg-boss sends no notification).
    if (queueNamed(queue)?.fetchAfterEnd) this.wake(queue);
  }

  /** Wakes this agent's worker of a queue at once, instead of at its next poll. */
  wake(queue: string): void {
    this.loops.get(queue)?.wake();
  }

  /**
   * Wakes it when runs queued ahead become claimable, and again CLAIM_AHEAD_MS later (when they are
   * due, but for commands): a clock that runs ahead of the database's would fetch too early the first
   * time, and the queue check is 15 s away.
   */
  wakeAt(queue: string, claimableAtMs: number): void {
    this.wakes.at(queue, wakeTime(claimableAtMs));
    this.wakes.at(queue, wakeTime(claimableAtMs + CLAIM_AHEAD_MS));
  }

  get activeCount(): number {
    return this.active.size;
  }

  /**
   * Stops fetching, lets active runs finish for up to `graceMs`, then cancels the rest (their
   * process groups are terminated) and gives their queue jobs back so another replica runs them.
   */
  async drain(graceMs: number): Promise<void> {
    try {
      await this.drainRuns(graceMs);
    } finally {
      this.ends.stop(); // an end still unwritten now is given up (logged): the agent exits
      this.watchdog.stop();
      this.spawner.stop();
    }
  }

  private async drainRuns(graceMs: number): Promise<void> {
    const { boss, logger } = this.options;
    this.checker.stop();
    this.wakes.clear();
    for (const loop of this.loops.values()) loop.stop();
    await this.listener.stop();
    // A fetch still in flight may claim runs: they start, and are waited for or given back like the rest.
    // One the database never answers (it drops packets) must not hold the stop.
    await Promise.race([Promise.allSettled([...this.loops.values()].map((loop) => loop.idle())), sleep(FETCH_WAIT_MS, undefined, { ref: false })]);
    const all = () => Promise.allSettled([...this.loops.values()].map((loop) => loop.settled()));
    const hurried = new Promise<void>((resolve) => (this.hurry.signal.aborted ? resolve() : this.hurry.signal.addEventListener('abort', () => resolve(), { once: true })));
    if (this.active.size > 0 && !this.hurry.signal.aborted) {
      logger.info({ active: this.active.size, grace_ms: graceMs }, 'waiting for active runs to finish');
      await Promise.race([all(), sleep(graceMs, undefined, { ref: false }), hurried]);
    }
    const unfinished = [...this.active];
    if (unfinished.length === 0) return;
    // After abortNow() the agent has said so in its own line.
    if (!this.hurry.signal.aborted) logger.warn({ runs: unfinished.map((r) => r.jobId) }, 'grace period over: cancelling active runs and giving them back to the queue');
    for (const run of unfinished) run.controller.abort(new Error('agent shutting down'));
    // Each run is failed as it ends; one that does not end (a hung database call) must not hold the exit.
    await Promise.race([all(), sleep(this.hurry.signal.aborted ? AFTER_URGENT_WAIT_MS : AFTER_ABORT_WAIT_MS, undefined, { ref: false })]);
    // A job with no retries left is now `failed`: put it back in `retry`.
    for (const run of unfinished) {
      await boss.retry(run.queue, run.jobId).catch((err: unknown) => logger.warn({ err, job: run.jobId, queue: run.queue }, 'could not give a run back to the queue'));
      // A job with retries left went to `retry` with its retry delay: a given-back run is due now.
      await boss.update({ name: run.queue, options: { id: run.jobId, startAfter: new Date() } }).catch(() => undefined);
    }
    // …and tell the other replicas at once rather than at their next queue check.
    for (const queue of new Set(unfinished.map((r) => r.queue))) {
      await notifyQueue(this.options.pool, queue).catch((err: unknown) => logger.warn({ err }, 'could not notify the other replicas'));
    }
  }

  /**
   * The agent must stop now (a second signal during the drain): the drain stops waiting, every active
   * run is cancelled, its process group killed without its kill grace, and given back to the queue.
   * Returns how many runs were active.
   */
  abortNow(): number {
    this.hurry.abort();
    for (const run of this.active) {
      run.urgent.abort();
      run.controller.abort(new Error('agent stopped'));
    }
    return this.active.size;
  }

  /**
   * pg-boss does not notify when a retry becomes due, and its fallback poll is 30 s with
   * LISTEN/NOTIFY on: read the retry's start time once pg-boss has recorded the failure and wake
   * this agent's worker then, so a retry runs on time.
   */
  private async wakeForRetry(queue: string, id: string): Promise<void> {
    try {
      for (let i = 0; i < 40; i++) {
        await sleep(50);
        const job = await this.options.boss.getJobById(queue, id);
        if (!job || job.state === 'completed' || job.state === 'cancelled' || job.state === 'failed') return;
        if (job.state === 'retry') {
          setTimeout(() => this.wake(queue), Math.max(0, job.startAfter.getTime() - Date.now()) + 20).unref();
          return;
        }
      }
    } catch (err) {
      this.options.logger.debug({ err }, 'could not read a retry time; the worker poll picks it up');
    }
  }

  private async handle(queue: string, job: Job<FireData>, lease: Lease): Promise<void> {
    const controller = new AbortController();
    const urgent = new AbortController();
    if (this.hurry.signal.aborted) urgent.abort();
    const run: ActiveRun = { queue, jobId: job.id, controller, urgent };
    this.active.add(run);
    let end;
    try {
      end = await this.attempts.run(queue, job, lease, controller.signal, urgent.signal);
    } catch (error) {
      end = { willRetry: false, givenBack: false, failure: error as Error };
    } finally {
      this.active.delete(run);
    }
    if (end.abandoned) return;
    await this.settle(queue, job, end.failure);
    if (end.willRetry && !end.givenBack) void this.wakeForRetry(queue, job.id);
  }
}

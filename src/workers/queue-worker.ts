// Workers on the pg-boss queues: run each queued fire's task, update its ledger row on every
// attempt, let pg-boss retry failures, and on shutdown give unfinished runs back to the queue.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Job, PgBoss } from 'pg-boss';
import type pg from 'pg';
import { updateFire, type FireState } from '../db/ledger.ts';
import type { Logger } from '../log.ts';
import type { FireData } from '../queue/enqueue.ts';
import { notifyQueue } from '../queue/boss.ts';
import { QUEUES } from '../queue/queues.ts';
import { runTask } from './run-task.ts';
import { registerSecrets } from '../log.ts';
import type { RunResult } from './result.ts';

/** Fires fetched at once by one worker loop. */
const BATCH_SIZE = 10;

export interface QueueWorkersOptions {
  boss: PgBoss;
  pool: pg.Pool;
  instance: string;
  /** Runs at once per queue on this agent. */
  concurrency: number;
  logger: Logger;
  /** The agent's own database, handed to vm-extract jobs that name none. */
  databaseUrl?: string;
  /** Called when an attempt starts, with its lateness (metrics). */
  onStart?: (data: FireData, latenessMs: number) => void;
  /** Called after every attempt; `final` is false when it will be retried (metrics, notifications). */
  onResult?: (result: RunResult, data: FireData, final: boolean) => void;
}

interface ActiveRun {
  queue: string;
  jobId: string;
  controller: AbortController;
  done: Promise<unknown>;
}

export class QueueWorkers {
  private readonly options: QueueWorkersOptions;
  private readonly workerIds = new Map<string, string>();
  private readonly active = new Set<ActiveRun>();

  constructor(options: QueueWorkersOptions) {
    this.options = options;
  }

  async start(): Promise<void> {
    for (const spec of Object.values(QUEUES)) {
      // Batches with burst: one wake-up drains a burst of fires (pg-boss otherwise waits a polling
      // interval after every single fetch). Each job of a batch is settled on its own.
      const id = await this.options.boss.work<FireData, unknown, { localConcurrency: number; batchSize: number; burstWhenBatchFull: true; perJobResults: true; pollingIntervalSeconds: number }>(
        spec.name,
        {
          localConcurrency: this.options.concurrency,
          batchSize: BATCH_SIZE,
          burstWhenBatchFull: true,
          perJobResults: true,
          pollingIntervalSeconds: 2,
          // Replace-mode jobs carry a heartbeat: refreshing it every second is how a cancellation by
          // another replica reaches this run within a second.
          ...(spec.name === QUEUES.replace.name ? { heartbeatRefreshSeconds: 1 } : {}),
        },
        (jobs) =>
          Promise.all(
            jobs.map((job) =>
              this.handle(spec.name, job).then(
                () => this.settle(spec.name, job, undefined),
                (error: unknown) => this.settle(spec.name, job, error as Error),
              ),
            ),
          ),
      );
      this.workerIds.set(spec.name, id);
    }
  }

  /**
   * Settles a job the moment its run ends, not when the slowest run of its batch does: until then
   * pg-boss would keep it active, holding the job's overlap slot. The attempt fence of the job
   * object makes the batch-end settlement that follows a no-op (it only touches active jobs of
   * that attempt), and does the settling if this one did not land.
   */
  private async settle(queue: string, job: Job<FireData>, error: Error | undefined) {
    const { boss, logger } = this.options;
    try {
      if (error) await boss.fail(queue, job, { message: error.message });
      else await boss.complete(queue, job);
    } catch (err) {
      logger.warn({ err, job: job.data.jobId }, 'settling a run failed; pg-boss settles it with its batch');
    }
    if (queue === QUEUES.queue.name) this.wake(queue);
    return error
      ? { id: job.id, status: 'failed' as const, output: { message: error.message } }
      : { id: job.id, status: 'completed' as const };
  }

  /** Wakes this agent's worker of a queue at once, instead of at its next poll. */
  wake(queue: string): void {
    const id = this.workerIds.get(queue);
    if (id) this.options.boss.notifyWorker(id);
  }

  get activeCount(): number {
    return this.active.size;
  }

  /**
   * Stops fetching, lets active runs finish for up to `graceMs`, then cancels the rest (their
   * process groups are terminated) and gives their queue jobs back so another replica runs them.
   */
  async drain(graceMs: number): Promise<void> {
    const { boss, logger } = this.options;
    const stopFetching = [...this.workerIds.keys()].map((q) => boss.offWork(q, { wait: false }).catch(() => undefined));
    await Promise.all(stopFetching);
    const all = () => Promise.allSettled([...this.active].map((r) => r.done));
    if (this.active.size > 0) {
      logger.info({ active: this.active.size, grace_ms: graceMs }, 'waiting for active runs to finish');
      await Promise.race([all(), sleep(graceMs, undefined, { ref: false })]);
    }
    const unfinished = [...this.active];
    if (unfinished.length === 0) return;
    logger.warn({ runs: unfinished.map((r) => r.jobId) }, 'grace period over: cancelling active runs and giving them back to the queue');
    for (const run of unfinished) run.controller.abort(new Error('agent shutting down'));
    await all();
    await Promise.all([...this.workerIds.keys()].map((q) => boss.offWork(q, { wait: true }).catch(() => undefined)));
    // pg-boss failed them; a job with no retries left is now `failed`: put it back in `retry`.
    for (const run of unfinished) {
      await boss.retry(run.queue, run.jobId).catch(() => undefined);
      // A job with retries left went to `retry` with its retry delay: a given-back run is due now.
      await boss.update({ name: run.queue, options: { id: run.jobId, startAfter: new Date() } }).catch(() => undefined);
    }
    // …and tell the other replicas at once rather than at their next poll.
    for (const queue of new Set(unfinished.map((r) => r.queue))) {
      await notifyQueue(this.options.pool, queue).catch((err: unknown) => logger.warn({ err }, 'could not notify the other replicas'));
    }
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

  private async handle(queue: string, job: Job<FireData>): Promise<void> {
    const { pool, instance, logger } = this.options;
    const data = job.data;
    const def = data.definition;
    const fireTimeMs = Date.parse(data.fireTime);
    const attempt = job.retryCount + 1;
    const controller = new AbortController();
    const signal = AbortSignal.any([job.signal, controller.signal]);
    const fields = { job: def.id, run: data.runId, fire: data.fireTime, attempt };
    registerSecrets(def.secrets ?? []); // a worker-only agent never loads the files: the queued definition carries them
    let settle: () => void = () => undefined;
    const run: ActiveRun = { queue, jobId: job.id, controller, done: new Promise<void>((resolve) => (settle = resolve)) };
    this.active.add(run);
    try {
      await updateFire(pool, def.id, fireTimeMs, { state: 'running', attempts: attempt, instance, started: true });
      const latenessMs = Date.now() - fireTimeMs;
      logger.info({ ...fields, lateness_ms: latenessMs }, 'run started');
      if (!data.manual) this.options.onStart?.(data, latenessMs);
      const { databaseUrl } = this.options;
      const result = await runTask(def, { runId: data.runId, fireTimeMs, attempt, instance, signal, logger, ...(databaseUrl ? { databaseUrl } : {}) });
      const givenBack = controller.signal.aborted;
      const replaced = !givenBack && job.signal.aborted && (await this.options.boss.getJobById(queue, job.id).catch(() => null))?.state === 'cancelled';
      if (replaced) {
        result.status = 'cancelled';
        result.message = result.error = 'cancelled: replaced by a newer fire (overlap: replace)';
      }
      const willRetry = result.status !== 'succeeded' && !replaced && (givenBack || attempt <= def.retry.attempts);
      const state: FireState = willRetry ? 'queued' : result.status;
      await updateFire(pool, def.id, fireTimeMs, { state, finished: !willRetry, result });
      const outcome = { ...fields, status: result.status, seconds: result.execution_time_seconds, will_retry: willRetry };
      if (result.status === 'succeeded') logger.info(outcome, `run ${result.status}`);
      else logger.warn({ ...outcome, error: result.error }, `run ${result.status}: ${result.message}`);
      this.options.onResult?.(result, data, !willRetry);
      if (willRetry && !givenBack) void this.wakeForRetry(queue, job.id);
      if (result.status !== 'succeeded') throw new Error(`${result.status}: ${result.message}`);
    } finally {
      this.active.delete(run);
      settle();
    }
  }
}

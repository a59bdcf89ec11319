// One attempt of a claimed fire, from its claim to its recorded end: held until it is due (a run claimed
// ahead, src/queue/ahead.ts; a command's process is spawned meanwhile), marked running in the ledger, run,
// and recorded: its result, and whether pg-boss retries it. A ledger write that fails is never a reason
// to run the task twice: the end is written as soon as the database answers (src/workers/until-written.ts).
// An attempt whose lease ran out before it was due (the agent was paused, or cut off) is not started.
// Which fetch loop claimed it and how it is settled in pg-boss is src/workers/queue-worker.ts.

import { recordEnded } from '../db/fire-transitions.ts';
import { pausedMessage, type Pause } from '../db/pauses.ts';
import type { PauseNotices } from '../queue/pause-notices.ts';
import type { Job, PgBoss } from 'pg-boss';
import type pg from 'pg';
import type { FireState } from '../db/ledger.ts';
import { LedgerWriter } from '../db/ledger-writer.ts';
import { registerSecrets, type Logger } from '../log.ts';
import type { FireData } from '../queue/enqueue.ts';
import { latenessFrom } from '../queue/fire-id.ts';
import { queueFor } from '../queue/queues.ts';
import { spawnAhead, type HeldCommand } from './command-ahead.ts';
import type { Lease } from './fetch-loop.ts';
import { LeaseLost } from './lease-lost.ts';
import type { LeaseWatchdog } from './lease-watchdog.ts';
import type { Spawner } from './spawner.ts';
import { lostLeaseKillGraceMs } from '../definitions/lease.ts';
import type { EndsInFlight } from './until-written.ts';
import type { DefinitionVersions } from '../catalog/versions.ts';
import type { JobDefinition } from '../definitions/types.ts';
import { notRunResult } from '../db/not-run-result.ts';
import type { RunContext, RunResult } from './result.ts';
import { runTask } from './run-task.ts';
import { StartGate } from './start-gate.ts';
import { linkedSignal } from './linked-signal.ts';

export interface AttemptHooks {
  /** Called when an attempt starts, with its lateness (metrics). */
  onStart?: (data: FireData, latenessMs: number) => void;
  /** Called after every attempt; `final` is false when it will be retried (metrics, notifications). */
  onResult?: (result: RunResult, data: FireData, final: boolean, definition?: JobDefinition) => void;
}

export interface AttemptOptions extends AttemptHooks {
  boss: PgBoss;
  pool: pg.Pool;
  instance: string;
  logger: Logger;
  /** The agent's own database, handed to vm-extract jobs that name none. */
  databaseUrl?: string;
  /** The clock fires are judged by (the database's). */
  now: () => number;
  /** Where ends that could not be written wait to be written. */
  ends: EndsInFlight;
  /** Kills the process groups of runs whose lease this agent stopped renewing (it may be paused). */
  watchdog?: LeaseWatchdog;
  /** Forks the commands off the agent's event loop (src/workers/spawner.ts). */
  spawner?: Spawner;
  /** Where a queued fire's reference (job id, definition hash) is resolved to the definition it runs. */
  definitions: DefinitionVersions;
  /** Pauses announced lately: a run held until due, of a job paused meanwhile, does not start. */
  pauses?: PauseNotices;
}

/** How long a fire of a job this agent does not know waits for the job's file to reach its watch. */
const UNKNOWN_JOB_WAIT_MS = 2_000;

/** How long after its start a run's row is marked running, unless its end is written first. */
const RUNNING_MARK_MS = 100;

/** How often the watchdog is told how much of each watched group's lease is left. */
const WATCHDOG_TELL_MS = 1_000;

export interface AttemptEnd {
  /** pg-boss runs it again (its ledger row stays `queued`). */
  willRetry: boolean;
  /** The agent gave it back while it ran (a drain): another replica runs it. */
  givenBack: boolean;
  /** Set when the attempt did not succeed: the fetch loop fails the pg-boss job with it. */
  failure?: Error;
  /** Not started, and not this agent's to settle: its lease ran out first, or it was replaced. */
  abandoned?: boolean;
}

export class Attempts {
  private readonly options: AttemptOptions;
  /** The ledger writes of the attempts, coalesced per turn of the event loop. */
  private readonly ledger: LedgerWriter;
  /** Where runs claimed ahead wait for their due time. */
  private readonly gate: StartGate;
  /** The process groups the watchdog watches, with their leases. */
  private readonly watched = new Map<number, { lease: Lease; graceMs: number }>();
  private telling: NodeJS.Timeout | undefined;

  constructor(options: AttemptOptions) {
    this.options = options;
    this.ledger = new LedgerWriter(options.pool);
    this.gate = new StartGate(options.now);
  }

  /**
   * Runs the attempt of `job`. `lease.signal` is aborted when the job is no longer this agent's (cancelled:
   * replaced; failed by a supervisor; expired; its lease lost), `giveBack` when the agent gives it back (a drain),
   * `urgent` when the agent must stop now (a command's group is killed without its kill_grace).
   */
  async run(queue: string, job: Job<FireData>, lease: Lease, giveBack: AbortSignal, urgent?: AbortSignal): Promise<AttemptEnd> {
    const linked = linkedSignal([lease.signal, giveBack]);
    try {
      return await this.attempt(queue, job, lease, giveBack, linked.signal, urgent);
    } finally {
      linked.dispose();
    }
  }

  /** The attempt; `signal` is aborted with the claim or the give-back. */
  private async attempt(queue: string, job: Job<FireData>, lease: Lease, giveBack: AbortSignal, signal: AbortSignal, urgent?: AbortSignal): Promise<AttemptEnd> {
    const { instance, logger, boss, databaseUrl } = this.options;
    const claim = lease.signal;
    const data = job.data;
    const fireTimeMs = Date.parse(data.fireTime);
    const attempt = job.retryCount + 1;
    const fields = { job: data.jobId, run: data.runId, fire: data.fireTime, attempt };
    const def = await this.definitionOf(job, fields, signal);
    if (def === undefined) return this.undefinedJob(job, fields, signal);
    registerSecrets(def.secrets ?? []);
    let held: HeldCommand | undefined;
    let group: number | undefined;
    const killGraceMs = def.task.type === 'command' ? def.task.killGraceMs : 0;
    const onGroup = (pgid: number) => {
      group = pgid;
      this.watch(pgid, lease, lostLeaseKillGraceMs(lease.leaseMs, killGraceMs));
    };
    try {
      const ctx: RunContext = { runId: data.runId, fireTimeMs, attempt, instance, signal, logger, onGroup, ...(this.options.spawner ? { spawner: this.options.spawner } : {}), ...(databaseUrl ? { databaseUrl } : {}), ...(urgent ? { urgent } : {}), ...(data.upstream ? { upstream: data.upstream } : {}) };
      // A run claimed ahead of its time (src/queue/ahead.ts) starts when it is due; a command's
      // process is spawned meanwhile, so that starting it then costs a write to a pipe.
      const dueMs = data.dueAt ? Date.parse(data.dueAt) : fireTimeMs;
      if (!data.manual) {
        const holding = dueMs > this.options.now();
        if (def.task.type === 'command' && holding) held = await spawnAhead({ ...def, task: def.task }, ctx);
        await this.gate.until(dueMs, signal); // on abort, the process spawned ahead is discarded below
        // A `replace` run held until due may have been replaced meanwhile (a manual run cancels it), which
        // its claim learns only at the next heartbeat refresh, up to a second later: it must not start.
        if (holding && queueFor(def.overlap).cancelBeforeSend && (await this.replacedWhileHeld(queue, job.id))) {
          logger.info(fields, 'run cancelled before its start: replaced by a newer fire (overlap: replace)');
          return { willRetry: false, givenBack: false, abandoned: true };
        }
      }
      // Checked synchronously, right before the start: a process paused past its lease wakes with its
      // timers overdue, and another agent may be running this fire's next attempt by now.
      if (!lease.held()) {
        const why = claim.reason instanceof LeaseLost ? claim.reason.message : 'its lease ran out before its start';
        logger.warn({ ...fields, lateness_ms: Math.round(this.options.now() - dueMs) }, `run not started: ${why} (was the agent paused or cut off from the database?); another agent takes it over`);
        return { willRetry: false, givenBack: false, abandoned: true };
      }
      // A pause written while this run was held (or claimed, out of the pause's sweep): it does not start.
      const pause = !data.manual && attempt === 1 ? this.options.pauses?.pausedAt(def.id, dueMs) : undefined;
      if (pause) return await this.pausedWhileHeld(data, fields, pause);
      // The run starts now; its ledger row is marked running meanwhile (a round trip less before the
      // start), RUNNING_MARK_MS after the start: a run that ends before then (most http tasks) has its start
      // written with its end, one update instead of two. A failed mark is logged, never a reason to run the
      // task twice.
      const startedAtMs = this.options.now();
      // A manual run (at a chosen instant, too) is late from when it was queued, not from its fire time.
      const latenessMs = startedAtMs - (data.manual ? dueMs : latenessFrom(fireTimeMs, dueMs));
      logger.info({ ...fields, lateness_ms: Math.round(latenessMs * 10) / 10 }, 'run started');
      // The task starts before the bookkeeping of its start (the metric, the mark's timer): runs released
      // together by the gate each start sooner (docs/benchmarks.md, "The start of 100 runs due at one instant").
      const running = runTask(def, ctx, held);
      let marking: Promise<void> | undefined;
      const mark = setTimeout(() => {
        marking = this.ledger
          .update(def.id, fireTimeMs, { state: 'running', attempts: attempt, instance, started: true, startedAtMs })
          .catch((err: unknown) => logger.warn({ ...fields, err }, 'could not mark the run running in the ledger; its end is still recorded'));
      }, RUNNING_MARK_MS);
      try {
        if (!data.manual) this.options.onStart?.(data, latenessMs);
      } catch (err) {
        logger.error({ ...fields, err }, 'reporting the start of a run (metrics) failed');
      }
      const result = await running.finally(() => clearTimeout(mark));
      const givenBack = giveBack.aborted;
      if (!givenBack && claim.reason instanceof LeaseLost) {
        result.status = 'failed';
        result.message = result.error = `stopped: ${claim.reason.message}`;
      }
      const replaced = !givenBack && claim.aborted && (await boss.getJobById(queue, job.id).catch(() => null))?.state === 'cancelled';
      if (replaced) {
        result.status = 'cancelled';
        result.message = result.error = 'cancelled: replaced by a newer fire (overlap: replace)';
      }
      const willRetry = result.status !== 'succeeded' && !replaced && (givenBack || attempt <= def.retry.attempts);
      const state: FireState = willRetry ? 'queued' : result.status;
      await marking;
      // A ledger write that fails must not turn a finished run into a retry (running it twice): it is
      // written as soon as the database answers, and the run is settled by its own outcome. The attempt
      // number keeps an attempt whose claim lapsed from overwriting the row of the attempt that replaced it.
      const start = marking === undefined ? { instance, started: true, startedAtMs } : {};
      await this.options.ends.write('recording the end of the run in the ledger', fields, logger, () =>
        this.ledger.update(def.id, fireTimeMs, { state, attempts: attempt, finished: !willRetry, result, ...start }),
      );
      const outcome = { ...fields, status: result.status, seconds: result.execution_time_seconds, will_retry: willRetry };
      if (result.status === 'succeeded') logger.info(outcome, `run ${result.status}`);
      else logger.warn({ ...outcome, error: result.error }, `run ${result.status}: ${result.message}`);
      try {
        this.options.onResult?.(result, data, !willRetry, def);
      } catch (err) {
        logger.error({ ...fields, err }, 'reporting the end of a run (metrics, notifications) failed');
      }
      return { willRetry, givenBack, ...(result.status !== 'succeeded' ? { failure: new Error(`${result.status}: ${result.message}`) } : {}) };
    } finally {
      // A process spawned ahead that the run never took over (something threw first, or it was replaced) must not wait on.
      if (held && !held.taken) await held.discard();
      if (group !== undefined) this.unwatch(group);
    }
  }

  /** A fire held (or claimed) when its job was paused: recorded skipped with the pause's reason, as the sweep records the queued ones. */
  private async pausedWhileHeld(data: FireData, fields: Record<string, unknown>, pause: Omit<Pause, 'pausedAtMs'>): Promise<AttemptEnd> {
    const { logger, pool } = this.options;
    logger.info({ ...fields, paused_by: pause.by }, 'run not started: the job was paused after its run was claimed ahead of its time');
    await this.options.ends.write('recording the fire skipped (paused) in the ledger', fields, logger, () => recordEnded(pool, [data.runId], 'skipped', pausedMessage({ ...pause, pausedAtMs: 0 })));
    return { willRetry: false, givenBack: false };
  }

  /** The definition the fire runs with (src/catalog/versions.ts); undefined when this agent does not know the job. */
  private async definitionOf(job: Job<FireData>, fields: Record<string, unknown>, signal: AbortSignal): Promise<JobDefinition | undefined> {
    const { data } = job;
    // A run queued by a version that carried the definition itself is resolved like any other, by its id and
    // hash: a definition in the database is never run (whoever can write a queue row could choose the command).
    const resolved = await this.options.definitions.resolveSoon(data.jobId, data.definitionHash ?? data.definition?.hash, UNKNOWN_JOB_WAIT_MS, signal);
    if (resolved && !resolved.exact) {
      // The fire was queued with a version this agent never held: an edit that reached the queuing agent
      // first, or agents whose environments differ. It runs the version in force here.
      this.options.logger.info({ ...fields, queued_hash: data.definitionHash, hash: resolved.definition.hash }, 'run uses this agent\'s version of the job: it was queued with another one');
    }
    return resolved?.definition;
  }

  /** A fire of a job that is not in this agent's jobs.d: the attempt fails, and pg-boss may retry it (elsewhere). */
  private async undefinedJob(job: Job<FireData>, fields: Record<string, unknown>, signal: AbortSignal): Promise<AttemptEnd> {
    const { data } = job;
    if (signal.aborted) return { willRetry: false, givenBack: false, abandoned: true };
    const attempt = job.retryCount + 1;
    const willRetry = attempt <= (data.retries ?? data.definition?.retry.attempts ?? 0);
    const message = `job ${data.jobId} is not defined on this agent (${this.options.instance}): every agent must read the same jobs directory`;
    const result = { ...notRunResult(data.jobId, Date.parse(data.fireTime), data.runId, this.options.instance, 'failed', message), attempt };
    this.options.logger.error({ ...fields, will_retry: willRetry }, `run not started: ${message}`);
    await this.options.ends.write('recording the end of the run in the ledger', fields, this.options.logger, () =>
      this.ledger.update(data.jobId, Date.parse(data.fireTime), { state: willRetry ? 'queued' : 'failed', attempts: attempt, finished: !willRetry, result }),
    );
    return { willRetry, givenBack: false, failure: new Error(result.message) };
  }

  private watch(pgid: number, lease: Lease, graceMs: number): void {
    const { watchdog } = this.options;
    if (!watchdog) return;
    this.watched.set(pgid, { lease, graceMs });
    watchdog.watch(pgid, lease.leftMs(), graceMs);
    this.telling ??= setInterval(() => {
      for (const [id, w] of this.watched) watchdog.watch(id, w.lease.leftMs(), w.graceMs);
    }, WATCHDOG_TELL_MS);
  }

  private unwatch(pgid: number): void {
    if (!this.watched.delete(pgid)) return;
    this.options.watchdog?.forget(pgid);
    if (this.watched.size === 0 && this.telling) {
      clearInterval(this.telling);
      this.telling = undefined;
    }
  }

  /** Whether the run is no longer this agent's to start (cancelled, or gone); not when that is unknown. */
  private async replacedWhileHeld(queue: string, id: string): Promise<boolean> {
    try {
      const now = await this.options.boss.getJobById(queue, id);
      return now === null || now.state !== 'active';
    } catch {
      return false; // the database did not answer: the run starts, and a cancellation still reaches it
    }
  }
}

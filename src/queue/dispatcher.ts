// Turning due fires into queued runs: enqueue each, and when the database cannot be reached,
// remember which jobs missed fires, probe until it is back, then apply each job's catch-up policy up to
// now and enqueue the fires handed over ahead of their time meanwhile. A fire that the database
// refuses for its data (an error of the fire, not of the connection) fails alone: the others of its
// batch are enqueued one by one, and it is recorded `failed` with the reason.

import { Outage, type MissedJob } from './outage.ts';
import { lastScheduledFires } from '../db/ledger.ts';
import { recordNotRun } from '../db/fire-transitions.ts';
import type { JobDefinition } from '../definitions/types.ts';
import type { Fire } from '../ticker/ticker.ts';
import { claimableAt } from './ahead.ts';
import { catchUp, type CatchUpContext } from './catchup.ts';
import type { EnqueueOutcome } from './enqueue.ts';
import { enqueueFires, type EnqueueConfirm } from './enqueue-batch.ts';
import { DispatchLease } from './dispatch-lease.ts';
import { confirmationOf, type Confirmation } from './dispatch-notice.ts';
import { isDataError } from '../db/data-error.ts';
import { queueFor } from './queues.ts';
import { fireId } from './fire-id.ts';
import { recallFire } from './recall.ts';

export interface DispatcherContext extends CatchUpContext {
  /** The clock fires are judged by (the database's); defaults to the local clock. */
  now?: () => number;
  /**
   * One agent at a time dispatches the ticker's fires (src/queue/dispatch-lease.ts); without it, this
   * agent enqueues every fire its ticker hands over.
   */
  lease?: boolean;
  /** What this agent's ticker schedules (Ticker.digest), for the lease's confirmations. */
  digest?: () => string;
}

const refusedKey = (fire: Fire) => `${fire.definition.id}@${fire.fireTimeMs}`;

export class Dispatcher {
  private readonly ctx: CatchUpContext;
  private readonly now: () => number;
  /** The batch enqueues in flight. */
  private readonly inFlight = new Set<Promise<unknown>>();
  /** Jobs whose fire queued ahead is being taken back: their next dispatches wait for it. */
  private readonly recalls = new Map<string, Promise<void>>();
  /** Fires taken back by the ticker: one waiting for an earlier take-back of its job is dropped, not sent. */
  private readonly takenBack = new WeakSet<Fire>();
  /** A database outage in progress: the jobs that missed fires meanwhile (src/queue/outage.ts). */
  private readonly outages: Outage;
  /** Fires refused ahead of their time, waiting to be enqueued when due, by `refusedKey`. */
  private readonly refused = new Map<string, NodeJS.Timeout>();
  private stopped = false;
  /** Who dispatches the ticker's fires, when agents share that (ctx.lease). */
  readonly lease: DispatchLease | undefined;

  constructor(ctx: DispatcherContext) {
    this.ctx = ctx;
    this.now = ctx.now ?? Date.now;
    this.outages = new Outage(ctx.pool, ctx.logger, (jobs, downMs) => this.back(jobs, downMs));
    if (ctx.lease) {
      this.lease = new DispatchLease({
        pool: ctx.pool,
        instance: ctx.instance,
        logger: ctx.logger,
        now: this.now,
        digest: ctx.digest ?? (() => ''),
        enqueue: (fires) => {
          for (const fire of fires) this.dispatch(fire, false, false, true);
        },
      });
    }
  }

  /** Whether the database is currently unreachable (for /readyz). */
  get outage(): boolean {
    return this.outages.active;
  }

  stop(): void {
    this.stopped = true;
    this.outages.stop();
    this.lease?.stop();
    for (const timer of this.refused.values()) clearTimeout(timer);
    this.refused.clear();
  }

  /** Fires dispatched in the same turn of the event loop (one tick of the ticker), enqueued together. */
  private batch: Array<{ fire: Fire; manual: boolean; onTime: boolean; ticked: boolean }> = [];

  /**
   * A fire the ticker hands over. With the lease held by another agent, it is held until that agent
   * confirms it (src/queue/dispatch-lease.ts); otherwise enqueued.
   */
  tick(fire: Fire): void {
    if (this.stopped) return;
    if (this.lease && !this.lease.mine && !this.outages.active && fire.dueAtMs > this.now()) return this.lease.hold(fire);
    this.dispatch(fire, false, false, true);
  }

  /**
   * Enqueues a fire: ahead of its time when it is not due yet (src/queue/ahead.ts), unless `onTime`
   * (a fire refused ahead of its time, enqueued again when due). `ticked`: the ticker handed it over.
   */
  dispatch(fire: Fire, manual = false, onTime = false, ticked = false): void {
    const { definition } = fire;
    if (this.stopped) return;
    const recalling = this.recalls.get(definition.id);
    if (recalling) {
      void recalling.then(() => {
        if (!this.takenBack.has(fire)) this.dispatch(fire, manual, onTime, ticked);
      });
      return;
    }
    if (this.outages.active) return this.outages.remember(definition, fire.fireTimeMs, manual ? undefined : fire);
    // Manual runs answer their caller, and a due `replace` fire cancels the active run first: both go one
    // by one. A `replace` fire not due yet is queued ahead with the others (refused if there is a run to replace).
    if (manual || (queueFor(definition.overlap).cancelBeforeSend && (onTime || fire.dueAtMs <= this.now()))) return this.enqueueOne(fire, manual, !manual && (onTime || ticked));
    if (this.batch.length === 0) setImmediate(() => this.flush());
    this.batch.push({ fire, manual, onTime, ticked });
  }

  /** What the holder of the lease adds to an enqueue transaction, for this confirmation (none on a standby). */
  private confirm(c: Confirmation): EnqueueConfirm | undefined {
    const lease = this.lease;
    if (!lease?.mine) return undefined;
    return {
      payload: (refused) => lease.confirmation({ ...c, undecided: [...c.undecided, ...refused] }),
      observed: (row) => lease.observed(row),
    };
  }

  /** `decided`: a fire of the ticker's (or its due-time dispatch): the holder confirms it by its key. */
  private enqueueOne(fire: Fire, manual: boolean, decided = false): void {
    const request = { definition: fire.definition, fireTimeMs: fire.fireTimeMs, dueAtMs: fire.dueAtMs, instance: this.ctx.instance, manual };
    const confirm = decided ? this.confirm({ decided: [{ jobId: fire.definition.id, fireTimeMs: fire.fireTimeMs }], undecided: [] }) : undefined;
    enqueueFires(this.ctx.pool, this.ctx.boss, [request], confirm).then(([outcome]) => outcome!).then(
      (outcome) => this.settled(fire, outcome),
      (err: unknown) => this.failed([fire], err, manual),
    );
  }

  /**
   * Takes back a fire queued ahead whose job was edited or removed before it was due (src/queue/recall.ts);
   * the job's next dispatch (the same instant, with the new definition) waits until that is done.
   */
  recall(fire: Fire): void {
    const { definition } = fire;
    this.takenBack.add(fire); // waiting for an earlier take-back (two edits within one round trip): dropped
    // Refused ahead of its time and waiting to be enqueued when due: that wait is dropped.
    const waiting = this.refused.get(refusedKey(fire));
    if (waiting) {
      clearTimeout(waiting);
      this.refused.delete(refusedKey(fire));
    }
    // Not sent yet: dropped. In flight: taken back after the enqueue.
    this.batch = this.batch.filter((b) => b.fire.definition.id !== definition.id || b.fire.fireTimeMs !== fire.fireTimeMs);
    // A standby held it for the holder, which takes it back itself (and enqueues it again after its own delete).
    if (this.lease && !this.lease.mine) return this.lease.forget(fire);
    const own = Promise.allSettled([...this.inFlight])
      .then(() => recallFire(this.ctx.pool, this.ctx.boss, definition, fire.fireTimeMs))
      .then((taken) => {
        const fields = { job: definition.id, fire: new Date(fire.fireTimeMs).toISOString() };
        if (taken) this.ctx.logger.debug(fields, 'fire queued ahead taken back (the job changed)');
        else this.ctx.logger.debug(fields, 'no fire queued ahead to take back (already claimed: it runs as queued; or another replica took it back)');
      })
      .catch((err: unknown) => this.ctx.logger.warn({ job: definition.id, err }, 'could not take back a fire queued before the edit'));
    // An edit takes back each of the job's fires queued ahead: the job's next dispatch waits for all of them.
    const before = this.recalls.get(definition.id);
    const done: Promise<void> = before ? Promise.all([before, own]).then(() => undefined) : own;
    void done.finally(() => {
      if (this.recalls.get(definition.id) === done) this.recalls.delete(definition.id);
    });
    this.recalls.set(definition.id, done);
  }

  /** Resolves once the job's fire queued ahead, if one is being taken back, is gone. */
  async recalled(jobId: string): Promise<void> {
    await this.recalls.get(jobId);
  }

  /** One transaction for every fire of the tick (200 jobs due at one second: 1 transaction, not 200). */
  private flush(): void {
    const all = this.batch;
    this.batch = [];
    if (all.length === 0) return;
    if (this.outages.active) {
      for (const { fire } of all) this.outages.remember(fire.definition, fire.fireTimeMs, fire);
      return;
    }
    const now = this.now();
    // A `replace` fire that has become due meanwhile must cancel the run it replaces: one by one.
    const lateReplace = (b: (typeof all)[number]) => queueFor(b.fire.definition.overlap).cancelBeforeSend && (b.onTime || b.fire.dueAtMs <= now);
    for (const b of all) if (lateReplace(b)) this.enqueueOne(b.fire, b.manual, b.onTime || b.ticked);
    const batch = all.filter((b) => !lateReplace(b));
    if (batch.length === 0) return;
    const fires = batch.map((b) => b.fire);
    const requests = fires.map((f, i) => {
      const claimableAtMs = !batch[i]!.onTime && f.dueAtMs > now ? claimableAt(f) : undefined;
      return { definition: f.definition, fireTimeMs: f.fireTimeMs, dueAtMs: f.dueAtMs, instance: this.ctx.instance, ...(claimableAtMs !== undefined ? { claimableAtMs } : {}) };
    });
    const enqueued = enqueueFires(this.ctx.pool, this.ctx.boss, requests, this.lease?.mine ? this.confirm(confirmationOf(all, lateReplace)) : undefined).then(
      (outcomes) => outcomes.forEach((outcome, i) => this.settled(fires[i]!, outcome, requests[i]!.claimableAtMs)),
      (err: unknown) => this.failed(fires, err),
    );
    this.inFlight.add(enqueued);
    void enqueued.finally(() => this.inFlight.delete(enqueued));
  }

  private settled(fire: Fire, outcome: EnqueueOutcome, claimableAtMs?: number): void {
    const { definition } = fire;
    if (outcome === 'refused') {
      // Refused ahead of its time by an earlier run that may end before the fire: decided when it is due,
      // unless the job is edited or removed before then (recall).
      const key = refusedKey(fire);
      const timer = setTimeout(() => {
        this.refused.delete(key);
        this.dispatch(fire, false, true);
      }, Math.max(0, fire.dueAtMs - this.now()));
      timer.unref();
      this.refused.set(key, timer);
      return;
    }
    const fields = { job: definition.id, fire: new Date(fire.fireTimeMs).toISOString() };
    if (outcome === 'queued' || outcome === 'skipped' || outcome === 'paused') this.ctx.outcome?.(definition, outcome === 'paused' ? 'skipped' : outcome);
    if (outcome === 'queued') {
      this.ctx.queued(definition, claimableAtMs);
      this.ctx.logger.debug({ ...fields, lateness_ms: Date.now() - fire.fireTimeMs }, 'fire queued');
    } else if (outcome === 'skipped') this.ctx.logger.info(fields, `fire skipped: the previous run is still queued or active (overlap: ${definition.overlap})`);
    else if (outcome === 'paused') this.ctx.logger.info(fields, 'fire skipped: the job is paused (jobsd resume ends the pause)');
  }

  private failed(fires: Fire[], err: unknown, manual = false): void {
    if (isDataError(err)) {
      // Not an outage: one of these fires cannot be written. Alone, each either goes in or fails alone.
      if (fires.length > 1) for (const fire of fires) this.enqueueAlone(fire);
      else if (fires[0]) this.recordUnqueueable(fires[0], err);
      return;
    }
    for (const fire of fires) this.outages.remember(fire.definition, fire.fireTimeMs, manual ? undefined : fire);
    this.outages.begin(err);
  }

  /** One fire of a batch that failed for its data, as a batch of its own. */
  private enqueueAlone(fire: Fire): void {
    const now = this.now();
    const claimableAtMs = fire.dueAtMs > now ? claimableAt(fire) : undefined;
    const request = { definition: fire.definition, fireTimeMs: fire.fireTimeMs, dueAtMs: fire.dueAtMs, instance: this.ctx.instance, ...(claimableAtMs !== undefined ? { claimableAtMs } : {}) };
    enqueueFires(this.ctx.pool, this.ctx.boss, [request]).then(
      ([outcome]) => this.settled(fire, outcome!, claimableAtMs),
      (err: unknown) => this.failed([fire], err),
    );
  }

  /** A fire the database refuses for its data: logged with its job, and recorded `failed` with the reason. */
  private recordUnqueueable(fire: Fire, err: unknown): void {
    const { definition: def, fireTimeMs } = fire;
    const reason = (err as Error).message;
    const fields = { job: def.id, fire: new Date(fireTimeMs).toISOString(), code: (err as { code?: string }).code };
    this.ctx.logger.error({ ...fields, error: reason }, `fire could not be queued: the database refused its data (${reason}); the job's other fires and the other jobs are not affected`);
    const runId = fireId(def.id, fireTimeMs);
    const message = `could not be queued: the database refused the job's data (${reason})`;
    recordNotRun(this.ctx.pool, 'failed', [{ jobId: def.id, fireTimeMs, runId, definitionHash: def.hash, message, error: reason }], this.ctx.instance).catch((error: unknown) =>
      this.ctx.logger.warn({ ...fields, err: error }, 'could not record the fire as failed'),
    );
  }

  /** The ticker found fires long past due: the process was paused. */
  late(definition: JobDefinition, sinceMs: number, nowMs: number): void {
    this.ctx.logger.warn({ job: definition.id, since: new Date(sinceMs + 1).toISOString(), behind_ms: nowMs - sinceMs }, 'fires found long past due (was the agent paused?): applying catch-up');
    if (this.outages.active) return this.outages.remember(definition, sinceMs + 1);
    this.run(definition, sinceMs, nowMs, 'the agent was paused');
  }

  /** At start: every job's fires since its last recorded one (a past `at` with no record too), up to `nowMs`. */
  async catchUpAtStart(definitions: JobDefinition[], nowMs: number): Promise<void> {
    const last = await lastScheduledFires(this.ctx.pool);
    for (const def of definitions) {
      if (!def.enabled || def.schedule.trigger.kind === 'once') continue;
      const since = last.get(def.id) ?? (def.schedule.trigger.kind === 'at' ? -Infinity : undefined);
      if (since !== undefined) this.run(def, since, nowMs, 'no agent was running');
    }
  }

  private run(def: JobDefinition, sinceMs: number, nowMs: number, why: string): void {
    // A one-time job that could not be enqueued has no schedule to catch up on: send it again.
    if (def.schedule.trigger.kind === 'once') return this.dispatch({ definition: def, fireTimeMs: sinceMs + 1, dueAtMs: nowMs });
    catchUp(this.ctx, def, sinceMs, nowMs, why).catch((err: unknown) => {
      if (isDataError(err)) return this.ctx.logger.error({ job: def.id, err }, 'catch-up failed: the database refused the job\'s data; the other jobs are not affected');
      this.outages.remember(def, sinceMs + 1);
      this.outages.begin(err);
    });
  }

  /** The database answers again: each job's catch-up up to now, and the fires handed over meanwhile. */
  private back(jobs: MissedJob[], downMs: number): void {
    const now = this.now();
    this.ctx.logger.info({ down_ms: downMs, jobs: jobs.length }, 'database reachable again: catching up');
    for (const { definition, sinceMs, fires } of jobs) {
      this.run(definition, sinceMs, now, 'the database was unreachable');
      // Handed over ahead of their time during the outage and not due by the catch-up's `now` (the
      // catch-up leaves those, a jittered one past its nominal time too): enqueued as the ticker handed them over.
      for (const fire of fires) if (fire.dueAtMs > now) this.dispatch(fire);
    }
  }
}

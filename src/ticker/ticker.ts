// ONE timer over a heap of next fires for all jobs. On wake it re-reads the clock (timers fire
// early or late), hands every due fire to `dispatch` (a job with a lead: that long before it is due),
// and re-arms for the earliest next fire.
// Reloads update the heap incrementally: a replaced entry is skipped when it surfaces (lazy delete).

import type { JobDefinition } from '../definitions/types.ts';
import type { Logger } from '../log.ts';
import { jitterDelay } from '../schedule/jitter.ts';
import { nextFire } from '../schedule/next.ts';
import { MinHeap } from './heap.ts';

export interface Fire {
  definition: JobDefinition;
  /** The nominal fire time: the fire's identity. */
  fireTimeMs: number;
  /** When it is due: the fire time plus its jitter. */
  dueAtMs: number;
  /** How long before it is due the ticker hands it over (`leadMs`); none: when due. */
  leadMs?: number;
}

export interface TickerOptions {
  /** The clock fires are judged by (corrected for skew against the database, later). */
  now: () => number;
  /** Enqueues a due fire; must not throw (log instead). */
  dispatch: (fire: Fire) => void;
  /**
   * A fire found more than `lateAfterMs` past due (the process was paused, the event loop stalled, the
   * clock jumped): instead of dispatching every fire missed meanwhile, the job's fires in
   * (sinceMs, nowMs] are handed over for catch-up and the job is scheduled from now.
   */
  late?: (definition: JobDefinition, sinceMs: number, nowMs: number) => void;
  lateAfterMs?: number;
  /**
   * How long before its due time a job's fire is dispatched (0 by default): fires that are queued
   * ahead are claimed by a worker shortly before their time and started at it (src/queue/ahead.ts).
   */
  leadMs?: (definition: JobDefinition, fireTimeMs: number) => number;
  /**
   * A fire dispatched ahead whose job was then edited or removed before it was due: it must be taken back
   * (the edit applies to it, or the job is gone). An edited job's fire at the same time is dispatched
   * again with the new definition when the new schedule has it.
   */
  recall?: (fire: Fire) => void;
  logger: Logger;
}

function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** A fire this late is not run late but handled by the job's catch-up policy. */
export const LATE_AFTER_MS = 5_000;
/** Fires looked through for one still waiting out its jitter (a jitter much longer than the period). */
const MAX_PENDING_STEPS = 1_000;

const MAX_TIMER_MS = 2 ** 31 - 1;

export class Ticker {
  private readonly options: TickerOptions;
  private readonly heap = new MinHeap<Fire>();
  /** The one live entry per job; heap entries not identical to it are stale. */
  private readonly current = new Map<string, Fire>();
  /**
   * Per job, its fires dispatched ahead of their time, oldest first (each stale once it is due): more than
   * one when a fire is handed over before the one before it is due (a command queued 950 ms ahead every
   * second with a jitter, or any job whose jitter is most of its interval).
   */
  private readonly ahead = new Map<string, Fire[]>();
  /** Per scheduled job, its share of `digest()`. */
  private readonly shares = new Map<string, number>();
  private digestValue = 0;
  private timer: NodeJS.Timeout | undefined;
  private armedFor = Infinity;
  private running = false;

  constructor(options: TickerOptions) {
    this.options = options;
  }

  /** Schedules (or reschedules) a job from now on. Disabled or finished jobs are removed. */
  upsert(definition: JobDefinition, afterMs = this.options.now()): void {
    // A fire whose nominal time has passed but whose jittered due time has not is kept: an edit
    // in that window must not lose it (every replica reloads the same edit).
    const pending = this.current.get(definition.id);
    let from = pending && pending.fireTimeMs <= afterMs ? Math.min(afterMs, pending.fireTimeMs - 1) : afterMs;
    const kept = this.ahead.get(definition.id)?.at(-1);
    const early = this.takeBack(definition.id, definition.hash);
    const onItsWay = !early && kept !== undefined && this.ahead.get(definition.id)?.at(-1) === kept;
    if (early) from = Math.min(from, early.fireTimeMs - 1); // the new schedule decides that instant again
    else if (onItsWay) from = Math.max(from, kept.fireTimeMs);
    this.current.delete(definition.id);
    this.share(definition.id, definition.enabled ? definition.hash : undefined);
    // With no fire of its own in hand (a start, a new job), the job's fires whose nominal time has passed
    // but whose jittered due time has not are still to come: the catch-up leaves them to the ticker.
    if (definition.enabled) this.scheduleAfter(definition, from, !pending && !early && !onItsWay, early?.fireTimeMs);
    this.arm();
  }

  remove(id: string): void {
    this.current.delete(id);
    this.share(id, undefined);
    this.takeBack(id);
  }

  /**
   * What this ticker schedules, as 8 hex digits: the same on two agents that schedule the same jobs with the
   * same definitions (an XOR of one FNV-1a hash per job id and definition hash, kept up to date per change).
   */
  digest(): string {
    return (this.digestValue >>> 0).toString(16).padStart(8, '0');
  }

  private share(id: string, hash: string | undefined): void {
    const old = this.shares.get(id);
    if (old !== undefined) this.digestValue ^= old;
    this.shares.delete(id);
    if (hash === undefined) return;
    const value = fnv1a(`${id}\0${hash}`);
    this.shares.set(id, value);
    this.digestValue ^= value;
  }

  /**
   * Recalls each of the job's fires dispatched ahead and not yet due, unless they were dispatched with this
   * definition; returns the earliest recalled.
   */
  private takeBack(id: string, hash?: string): Fire | undefined {
    const now = this.options.now();
    const early = this.ahead.get(id)?.filter((fire) => fire.dueAtMs > now) ?? [];
    if (early.length > 0 && early.every((fire) => fire.definition.hash === hash)) {
      this.ahead.set(id, early);
      return undefined;
    }
    this.ahead.delete(id);
    for (const fire of early) this.options.recall?.(fire);
    return early[0];
  }

  private keepAhead(fire: Fire, now: number): void {
    const id = fire.definition.id;
    this.ahead.set(id, [...(this.ahead.get(id)?.filter((f) => f.dueAtMs > now) ?? []), fire]);
  }

  /** The next fire of every scheduled job. */
  nextFires(): Map<string, Fire> {
    return new Map(this.current);
  }

  start(): void {
    this.running = true;
    this.arm();
  }

  stop(): void {
    this.running = false;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.armedFor = Infinity;
  }

  /**
   * Arms the job's first fire after `afterMs`. `pending`: also a fire whose nominal time is at or before
   * `afterMs` but whose jittered due time is after it (the catch-up leaves such a fire to the ticker).
   * `takenBack`: the fire time of a fire an edit took back; if the new definition's due time for it has
   * passed while it was in hand (a lower jitter), it is due now, not found late (it is no missed fire).
   */
  private scheduleAfter(definition: JobDefinition, afterMs: number, pending = false, takenBack?: number): void {
    const { schedule } = definition;
    const due = (fireMs: number) => fireMs + jitterDelay(definition.id, fireMs, schedule.jitterMs);
    let fireTimeMs = nextFire(schedule, pending && schedule.jitterMs >= 1 ? afterMs - schedule.jitterMs : afterMs);
    for (let step = 0; pending && fireTimeMs !== null && fireTimeMs <= afterMs && due(fireTimeMs) <= afterMs; step++) {
      fireTimeMs = nextFire(schedule, step < MAX_PENDING_STEPS ? fireTimeMs : afterMs);
    }
    if (fireTimeMs === null) return;
    const leadMs = this.options.leadMs?.(definition, fireTimeMs) ?? 0;
    const dueAtMs = fireTimeMs === takenBack ? Math.max(due(fireTimeMs), this.options.now()) : due(fireTimeMs);
    const fire: Fire = { definition, fireTimeMs, dueAtMs, ...(leadMs > 0 ? { leadMs } : {}) };
    this.current.set(definition.id, fire);
    this.heap.push(fire.dueAtMs - leadMs, fire);
  }

  private arm(): void {
    if (!this.running) return;
    this.dropStale();
    const next = this.heap.peekKey();
    if (next === undefined || next >= this.armedFor) return;
    if (this.timer) clearTimeout(this.timer);
    this.armedFor = next;
    const delay = Math.min(MAX_TIMER_MS, Math.max(0, next - this.options.now()));
    this.timer = setTimeout(() => this.tick(), delay);
  }

  private dropStale(): void {
    for (let top = this.heap.peek(); top && this.current.get(top.definition.id) !== top; top = this.heap.peek()) this.heap.pop();
  }

  private tick(): void {
    this.timer = undefined;
    this.armedFor = Infinity;
    const now = this.options.now();
    for (let key = this.heap.peekKey(); key !== undefined && key <= now; key = this.heap.peekKey()) {
      const top = this.heap.pop()!.value;
      if (this.current.get(top.definition.id) !== top) continue;
      this.current.delete(top.definition.id);
      const late = this.options.late && now - top.dueAtMs > (this.options.lateAfterMs ?? LATE_AFTER_MS);
      this.scheduleAfter(top.definition, late ? now : top.fireTimeMs, late);
      try {
        if (late) this.options.late!(top.definition, top.fireTimeMs - 1, now);
        else {
          if (top.dueAtMs > now) this.keepAhead(top, now);
          this.options.dispatch(top);
        }
      } catch (error) {
        this.options.logger.error({ job: top.definition.id, err: error }, 'dispatching a fire failed');
      }
    }
    this.arm();
  }
}

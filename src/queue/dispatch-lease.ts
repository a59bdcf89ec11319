// One agent at a time dispatches the ticker's fires; the others stand by. Every agent computes the same
// fires, and before this each one enqueued every fire, the ledger's primary key keeping one: N agents
// cost N transactions per tick, N-1 of them inserts that conflict (and wait for the winner's commit).
//
// The holder is named in jobsd.dispatcher (one row, with a token that grows at each change of holder).
// The holder enqueues each tick's fires as before, and the same transaction sends a confirmation on
// pg-boss's channel (delivered to every agent's listening connection at commit, so only once the fires
// are recorded): the range of handover instants it dispatched (a fire is handed over its lead before
// it is due; the ticker hands fires over in that order, so the ranges of two ticks do not overlap), and the fires it did not decide in that transaction (refused ahead of their time: decided
// when due) or decided at their due time. A standby holds each fire the ticker hands it, and drops it
// once a confirmation covers it. A fire still unconfirmed CONFIRM_GRACE_MS after its handover (or after
// its due time, for one the holder did not decide ahead) is enqueued by the standby itself, as every agent
// did before, and the standby takes the holder's place (compare-and-set on the token). The fire is then
// still queued ahead of its time: a holder that stops (SIGKILL, SIGSTOP, cut off, slow) delays no fire.
//
// Nothing here decides whether a fire runs: the ledger's key still does. The lease only decides who spends
// the statements. A standby drops a fire only on a confirmation, which is sent only by a transaction that
// committed the fire; two agents that both believe they hold the lease both enqueue, as before, and the
// holder reads the row at each confirmation, so a deposed holder learns it at its next tick.
// An idle holder costs no statement: liveness is judged at the fires themselves.
// The notifications' text format is src/queue/dispatch-notice.ts.

import type pg from 'pg';
import type { Logger } from '../log.ts';
import type { Fire } from '../ticker/ticker.ts';
import { HANDOVER_RULE, handoverAt } from './ahead.ts';
import { BOSS_SCHEMA, NOTIFY_CHANNEL_SQL } from './boss.ts';
import { confirmationPayload, DISPATCH_PREFIX, fireKey, parseNotice, type Confirmation } from './dispatch-notice.ts';

/**
 * How long after a fire's handover (or due time) a standby waits for the holder's confirmation, at least;
 * more when the holder's confirmations come later (a large tick takes longer to enqueue): twice the latest
 * delay seen (decaying), up to MAX_GRACE_MS, so that a holder that is merely busy is not taken over.
 */
export const CONFIRM_GRACE_MS = 300;
const MAX_GRACE_MS = 2_000;
/** How long a confirmation is kept for a fire this agent's ticker has not handed over yet. */
const RECENT_MS = 5_000;

export interface DispatchLeaseOptions {
  pool: pg.Pool;
  instance: string;
  logger: Logger;
  /** The clock fires are judged by (the database's). */
  now: () => number;
  /** What this agent's ticker schedules (Ticker.digest). */
  digest: () => string;
  /** Enqueues fires a standby found unconfirmed (the dispatcher's own path, as a holder would). */
  enqueue: (fires: Fire[]) => void;
}

interface Held {
  fire: Fire;
  /** Enqueued by this agent when still unconfirmed at this instant. */
  deadline: number;
  /** The holder did not decide it ahead of its time: only its key in `decided` confirms it. */
  untilDue: boolean;
}

export class DispatchLease {
  private readonly options: DispatchLeaseOptions;
  private holder: string | undefined;
  private token = 0;
  private readonly held = new Map<string, Held>();
  /**
   * Confirmations seen lately (a holder's can arrive before this agent's own ticker hands the fire over):
   * the ranges, and the keys decided, with when they were seen.
   */
  private readonly ranges: Array<{ fromMs: number; toMs: number; undecided: Set<string> | 'all'; seenAt: number; digest: string }> = [];
  private readonly decided = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private stopped = false;
  /** Since when (database clock) this agent's listening connection is up; undefined while it is down. */
  private listeningSince: number | undefined;
  /** The longest delay from a handover to its confirmation seen lately (decays by a tenth per notice). */
  private confirmDelayMs = 0;
  private takingOver: Promise<void> | undefined;

  constructor(options: DispatchLeaseOptions) {
    this.options = options;
  }

  /** What this agent schedules, and by which hand-over rule: ranges confirm fires only between equals. */
  private digest(): string {
    return `${this.options.digest()}.${HANDOVER_RULE}`;
  }

  /** Whether this agent dispatches the ticker's fires now. */
  get mine(): boolean {
    return this.holder === this.options.instance;
  }

  /** Who does, as far as this agent knows. */
  get current(): { holder: string | undefined; token: number } {
    return { holder: this.holder, token: this.token };
  }

  /** Reads the row; the first agent on a database names itself. A failure leaves this agent a standby with no holder known (it then takes over at its first fire). */
  async start(): Promise<void> {
    try {
      const { rows } = await this.options.pool.query<{ holder: string | null; token: string }>(
        `WITH ins AS (INSERT INTO jobsd.dispatcher (id, holder, token) VALUES (true, $1, 1) ON CONFLICT (id) DO NOTHING RETURNING holder, token)
         SELECT holder, token FROM ins UNION ALL SELECT holder, token FROM jobsd.dispatcher LIMIT 1`,
        [this.options.instance],
      );
      if (rows[0]) this.adopt(rows[0].holder ?? undefined, Number(rows[0].token));
    } catch (err) {
      this.options.logger.warn({ err }, 'could not read which agent dispatches fires: this one stands by and takes over at its first unconfirmed fire');
    }
  }

  stop(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.held.clear();
  }

  /** The confirmation a holder's transaction sends, or undefined on a standby. */
  confirmation(c: Confirmation): string | undefined {
    return this.mine ? confirmationPayload(this.options.instance, this.token, this.digest(), c) : undefined;
  }

  /** What the holder's transaction read of the row: a holder deposed meanwhile learns it here. */
  observed(row: string | undefined): void {
    if (row === undefined) return;
    const space = row.lastIndexOf(' ');
    this.adopt(row.slice(0, space) || undefined, Number(row.slice(space + 1)));
  }

  private adopt(holder: string | undefined, token: number): void {
    if (!Number.isFinite(token) || token < this.token) return;
    const was = this.mine;
    this.holder = holder;
    this.token = token;
    if (was && !this.mine) this.options.logger.info({ holder, lease: token }, 'another agent dispatches the fires now: this one stands by');
  }

  /** The listening connection is (again) up: confirmations sent before now were not heard. */
  listening(): void {
    this.listeningSince = this.options.now();
  }

  /** The listening connection is down: no confirmation is heard until it is back. */
  deaf(): void {
    this.listeningSince = undefined;
  }

  /** A standby holds a fire handed over by its ticker until the holder confirms it. */
  hold(fire: Fire): void {
    if (this.stopped) return;
    // Its confirmation may have been sent while this agent was not listening: enqueued here too (the
    // holder is not judged by it).
    if (this.listeningSince === undefined || handoverAt(fire) < this.listeningSince) return this.options.enqueue([fire]);
    const key = fireKey(fire.definition.id, fire.fireTimeMs);
    if (this.decided.has(key)) return;
    const h: Held = { fire, deadline: this.options.now() + this.graceMs(), untilDue: false };
    const at = handoverAt(fire);
    const digest = this.digest();
    const range = this.ranges.findLast((r) => r.fromMs <= at && at <= r.toMs && r.digest === digest);
    if (range && range.undecided !== 'all' && !range.undecided.has(key)) return;
    if (range) this.untilDue(h);
    this.held.set(key, h);
    // The timer is armed for the earliest deadline: only an earlier one moves it (no scan per fire).
    if (h.deadline < this.timerAt) this.arm();
  }

  private untilDue(h: Held): void {
    h.untilDue = true;
    h.deadline = h.fire.dueAtMs + this.graceMs();
  }

  private graceMs(): number {
    return Math.min(MAX_GRACE_MS, Math.max(CONFIRM_GRACE_MS, 2 * this.confirmDelayMs));
  }

  /** The ticker took the fire back (its job was edited or removed). */
  forget(fire: Fire): void {
    this.held.delete(fireKey(fire.definition.id, fire.fireTimeMs));
  }

  /** A notification on pg-boss's channel with DISPATCH_PREFIX. */
  notice(payload: string): void {
    const n = parseNotice(payload);
    if (!n) return;
    this.adopt(n.holder, n.token);
    const now = this.options.now();
    // Kept for a few seconds: two agents hand a fire over a few ms apart (by the same database clock).
    while (this.ranges.length > 0 && this.ranges[0]!.seenAt < now - RECENT_MS) this.ranges.shift();
    for (const [key, seenAt] of this.decided) if (seenAt < now - RECENT_MS) this.decided.delete(key);
    // A holder that schedules other jobs (or other versions: an edit it has not loaded yet, or a jobs.d that
    // differs) confirms none of this agent's fires by their instant: they are enqueued here too.
    const range = n.range && n.digest === this.digest() ? n.range : undefined;
    if (n.range) this.ranges.push({ ...n.range, undecided: n.undecided, seenAt: now, digest: n.digest });
    for (const key of n.decided) this.decided.set(key, now);
    this.confirmDelayMs *= 0.9;
    if (range) this.confirmDelayMs = Math.max(this.confirmDelayMs, now - range.toMs);
    for (const [key, h] of this.held) {
      if (n.decided.has(key)) this.held.delete(key);
      else if (!h.untilDue && range && range.fromMs <= handoverAt(h.fire) && handoverAt(h.fire) <= range.toMs) {
        if (n.undecided === 'all' || n.undecided.has(key)) this.untilDue(h);
        else this.held.delete(key);
      }
    }
    this.arm();
  }

  private arm(): void {
    let next = Infinity;
    for (const h of this.held.values()) next = Math.min(next, h.deadline);
    if (next === this.timerAt) return;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = next;
    if (next === Infinity || this.stopped) return;
    this.timer = setTimeout(() => this.expire(), Math.max(0, next - this.options.now()));
  }

  private expire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = this.options.now();
    const due: Fire[] = [];
    for (const [key, h] of this.held) {
      if (h.deadline > now) continue;
      this.held.delete(key);
      due.push(h.fire);
    }
    this.arm();
    if (due.length === 0) return;
    this.options.logger.info(
      { fires: due.length, holder: this.holder ?? null, grace_ms: Math.round(this.graceMs()) },
      `fires not confirmed by the agent that dispatches them (${this.holder ?? 'none known'}) in time: enqueued here, and this agent takes its place`,
    );
    this.options.enqueue(due);
    void this.takeOver();
  }

  /** Compare-and-set on the token this agent last saw; whoever wins tells every agent. */
  private takeOver(): Promise<void> {
    return (this.takingOver ??= (async () => {
      try {
        const seen = this.token;
        const { rows } = await this.options.pool.query<{ holder: string | null; token: string; won: boolean }>(
          `WITH up AS (UPDATE jobsd.dispatcher SET holder = $1, token = token + 1, since = now() WHERE id AND token = $2 RETURNING holder, token),
                told AS (SELECT pg_notify(${NOTIFY_CHANNEL_SQL.replace('$1', '$3')}, $4::text || up.token) FROM up)
           SELECT holder, token, true AS won FROM up, (SELECT count(*) FROM told) t
           UNION ALL SELECT holder, token, false FROM jobsd.dispatcher WHERE NOT EXISTS (SELECT 1 FROM up) LIMIT 1`,
          [this.options.instance, seen, BOSS_SCHEMA, `${DISPATCH_PREFIX}${encodeURIComponent(this.options.instance)} `],
        );
        const row = rows[0];
        if (row) this.adopt(row.holder ?? undefined, Number(row.token));
        if (row?.won) this.options.logger.info({ lease: Number(row.token) }, 'this agent dispatches the fires now');
      } catch (err) {
        this.options.logger.warn({ err }, 'could not take over the dispatch of fires: this agent enqueues the fires it holds when unconfirmed');
      } finally {
        this.takingOver = undefined;
      }
    })());
  }
}

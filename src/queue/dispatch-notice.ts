// The dispatch lease's notifications (src/queue/dispatch-lease.ts), on pg-boss's channel: what a holder's
// transaction tells the standbys, as text, and back. A confirmation is
//   !dispatch HOLDER TOKEN DIGEST FROM~TO|- DECIDED|- UNDECIDED|-|*
// with HOLDER URI-encoded, DIGEST the holder's ticker digest and hand-over rule, FROM~TO the range of
// handover instants it dispatched, and the fire lists as JOB:FIRE_MS joined by commas (`*`: too many
// to list, every fire of the range is decided when due). A takeover tells `!dispatch HOLDER TOKEN`.

import type { Fire } from '../ticker/ticker.ts';
import { handoverAt } from './ahead.ts';

/** Confirmations travel on pg-boss's channel with this prefix (no `@`: a wake-up payload is `queue@times`). */
export const DISPATCH_PREFIX = '!dispatch ';

/** PostgreSQL refuses a notification payload of 8,000 bytes or more. */
const MAX_PAYLOAD = 7_900;

export const fireKey = (jobId: string, fireTimeMs: number) => `${jobId}:${fireTimeMs}`;

/** What a holder's transaction tells the standbys. */
export interface Confirmation {
  /** Every fire handed over in [fromMs, toMs] was dispatched (none: only the keyed ones). */
  range?: { fromMs: number; toMs: number };
  /** Fires decided in this transaction (their due-time dispatch). */
  decided: Array<{ jobId: string; fireTimeMs: number }>;
  /** Fires in `range` but not decided in this transaction: decided when due. */
  undecided: Array<{ jobId: string; fireTimeMs: number }>;
}

export interface DispatchNotice {
  holder: string;
  token: number;
  /** The holder's ticker's digest (Ticker.digest) and its hand-over rule (HANDOVER_RULE): a range confirms only fires of a standby that has the same. */
  digest: string;
  range?: { fromMs: number; toMs: number };
  decided: Set<string>;
  /** `all`: the list did not fit; every fire covered is decided when due. */
  undecided: Set<string> | 'all';
}

export function confirmationPayload(holder: string, token: number, digest: string, c: Confirmation): string {
  const keys = (fires: Confirmation['decided']) => (fires.length ? fires.map((f) => fireKey(f.jobId, f.fireTimeMs)).join(',') : '-');
  const head = `${DISPATCH_PREFIX}${encodeURIComponent(holder)} ${token} ${digest} ${c.range ? `${c.range.fromMs}~${c.range.toMs}` : '-'}`;
  const full = `${head} ${keys(c.decided)} ${keys(c.undecided)}`;
  if (full.length <= MAX_PAYLOAD) return full;
  // Too long: no fire is confirmed by its key; the standbys enqueue those when due (a duplicate is a no-op).
  return `${head} - *`;
}

export function parseNotice(payload: string): DispatchNotice | undefined {
  if (!payload.startsWith(DISPATCH_PREFIX)) return undefined;
  const [holder, token, digest, range, decided, undecided] = payload.slice(DISPATCH_PREFIX.length).split(' ');
  if (holder === undefined || !Number.isFinite(Number(token))) return undefined;
  const set = (s: string | undefined) => new Set(s && s !== '-' ? s.split(',') : []);
  const [fromMs, toMs] = (range ?? '-').split('~').map(Number);
  return {
    holder: decodeURIComponent(holder),
    token: Number(token),
    digest: digest ?? '',
    ...(Number.isFinite(fromMs) && Number.isFinite(toMs) ? { range: { fromMs: fromMs!, toMs: toMs! } } : {}),
    decided: set(decided),
    undecided: undecided === '*' ? 'all' : set(undecided),
  };
}

/**
 * What a holder's batch confirms: the range of handover instants of the ticker's fires in it, the fires
 * decided at their due time, and those of the range that go one by one (a `replace` fire due meanwhile).
 */
export function confirmationOf<B extends { fire: Fire; onTime: boolean; ticked: boolean }>(batch: B[], apart: (b: B) => boolean): Confirmation {
  const key = (b: B) => ({ jobId: b.fire.definition.id, fireTimeMs: b.fire.fireTimeMs });
  const ranged = batch.filter((b) => b.ticked && !b.onTime);
  const handovers = ranged.map((b) => handoverAt(b.fire));
  return {
    ...(ranged.length ? { range: { fromMs: Math.min(...handovers), toMs: Math.max(...handovers) } } : {}),
    decided: batch.filter((b) => b.onTime && !apart(b)).map(key),
    undecided: ranged.filter(apart).map(key),
  };
}

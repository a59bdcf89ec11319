// The time the CLI shows for a fire: its scheduled instant, or for a one-time job's fire (whose instant
// is an identity derived from its key, before 2005) when it ran, else when it was queued.

import type { FireRow } from '../db/ledger.ts';
import { isOnceFire } from '../queue/fire-id.ts';

export function shownTime(row: Pick<FireRow, 'fire_time' | 'started_at' | 'enqueued_at'>): string {
  if (!isOnceFire(row.fire_time.getTime())) return row.fire_time.toISOString();
  const when = row.started_at ?? row.enqueued_at;
  return when ? `${when.toISOString()} (@once)` : '@once (not run)';
}

/** When it ran or is due, for JSON: the fire time for scheduled fires. */
export function ranAt(row: Pick<FireRow, 'fire_time' | 'started_at' | 'enqueued_at'>): string | null {
  if (!isOnceFire(row.fire_time.getTime())) return (row.started_at ?? row.fire_time).toISOString();
  return (row.started_at ?? row.enqueued_at)?.toISOString() ?? null;
}

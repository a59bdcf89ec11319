// The database's clock as the replicas' common reference: measure the local clock's offset from it.

import type pg from 'pg';

export interface ClockSample {
  /** Database time minus local time, in ms (positive: the local clock is behind). */
  offsetMs: number;
  roundTripMs: number;
}

export async function measureClockOffset(pool: Pick<pg.Pool, 'query'>): Promise<ClockSample> {
  let best: ClockSample | undefined;
  for (let i = 0; i < 3; i++) {
    const sent = Date.now();
    const result = await pool.query<{ now: string }>('SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8 AS now');
    const received = Date.now();
    const sample = { offsetMs: Number(result.rows[0]!.now) - (sent + received) / 2, roundTripMs: received - sent };
    if (!best || sample.roundTripMs < best.roundTripMs) best = sample; // the fastest exchange is the most precise
  }
  return best!;
}

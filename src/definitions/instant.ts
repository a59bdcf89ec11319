// ISO 8601 timestamps in job files. Without an offset they are read in the job's time zone.

import { DateTime } from 'luxon';

export function parseInstant(text: string, zone: string): number | { error: string } {
  let parsed = DateTime.fromISO(text.trim(), { zone });
  if (!parsed.isValid) parsed = DateTime.fromSQL(text.trim(), { zone }); // APScheduler's "2026-01-05 10:00:00"
  if (!parsed.isValid) {
    return { error: `"${text}" is not an ISO 8601 timestamp such as "2026-12-01T02:00:00+01:00" or "2026-12-01T02:00" (read in the schedule's time zone)` };
  }
  return parsed.toMillis();
}

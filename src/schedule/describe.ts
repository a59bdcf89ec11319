// One line saying when a schedule fires, for `jobsd next`, logs and error messages.

import type { CronSource, Schedule } from '../definitions/types.ts';
import { formatDuration } from '../definitions/duration.ts';

/**
 * `cron "30 2 * * *" in Europe/Berlin`, `every 5m`, `every 1h from 2026-01-01T00:30:00.000Z`,
 * `at 2026-12-01T01:00:00.000Z`, `once (when first loaded)`; then the window and jitter if any.
 */
export function describeTrigger(schedule: Schedule): string {
  const { trigger } = schedule;
  let text: string;
  switch (trigger.kind) {
    case 'cron':
      text = `cron ${describeCron(trigger)} in ${schedule.timezone}`;
      break;
    case 'crons':
      text = `crons ${trigger.crons.map(describeCron).join(', ')} in ${schedule.timezone}`;
      break;
    case 'every':
      text = `every ${formatDuration(trigger.intervalMs)}`;
      if (trigger.anchorMs !== 0) text += ` from ${new Date(trigger.anchorMs).toISOString()}`;
      break;
    case 'at':
      text = `at ${new Date(trigger.atMs).toISOString()}`;
      break;
    case 'once':
      text = 'once (when first loaded)';
      break;
    case 'after':
      text = `after ${trigger.job} (${trigger.on.join(' or ')})`;
      break;
  }
  if (schedule.startAtMs !== undefined) text += `, not before ${new Date(schedule.startAtMs).toISOString()}`;
  if (schedule.endAtMs !== undefined) text += `, not after ${new Date(schedule.endAtMs).toISOString()}`;
  if (schedule.jitterMs > 0) text += `, jitter up to ${formatDuration(schedule.jitterMs)}`;
  return text;
}

/** `"0 0 * * *" (@daily)`: the expression, and how it was written when that differs. */
function describeCron(cron: CronSource): string {
  const written = cron.source.trim().replace(/\s+/g, ' ');
  const source = written !== '' && written !== cron.expression ? ` (${written})` : '';
  const both = cron.daysMatch === 'both' ? ' (days matching both day fields)' : '';
  return `"${cron.expression}"${source}${both}`;
}

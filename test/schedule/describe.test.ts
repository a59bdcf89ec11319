import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Schedule, Trigger } from '../../src/definitions/types.ts';
import { describeTrigger } from '../../src/schedule/describe.ts';

const schedule = (trigger: Trigger, timezone = 'UTC', extra: Partial<Schedule> = {}): Schedule => ({
  trigger, timezone, jitterMs: 0, catchup: 'skip', catchupWindowMs: 3_600_000, ...extra,
});

test('describeTrigger says in one line when a schedule fires', () => {
  const rows: Array<[Schedule, string]> = [
    [schedule({ kind: 'cron', expression: '30 2 * * *', source: '30 2 * * *' }, 'Europe/Berlin'), 'cron "30 2 * * *" in Europe/Berlin'],
    [schedule({ kind: 'cron', expression: '30 2 * * *', source: ' 30  2 * * * ' }, 'Europe/Berlin'), 'cron "30 2 * * *" in Europe/Berlin'],
    [schedule({ kind: 'cron', expression: '0 0 * * *', source: '@daily' }), 'cron "0 0 * * *" (@daily) in UTC'],
    [
      schedule({ kind: 'crons', crons: [{ expression: '0 0 * * *', source: '@daily' }, { expression: '0 12 * * 6,0', source: '0 12 * * 6,0' }] }, 'Europe/Berlin'),
      'crons "0 0 * * *" (@daily), "0 12 * * 6,0" in Europe/Berlin',
    ],
    [schedule({ kind: 'every', intervalMs: 300_000, anchorMs: 0 }), 'every 5m'],
    [schedule({ kind: 'every', intervalMs: 5_400_000, anchorMs: Date.parse('2026-01-01T00:30:00Z') }), 'every 1h30m from 2026-01-01T00:30:00.000Z'],
    [schedule({ kind: 'at', atMs: Date.parse('2026-12-01T01:00:00Z') }), 'at 2026-12-01T01:00:00.000Z'],
    [schedule({ kind: 'once' }), 'once (when first loaded)'],
    [
      schedule({ kind: 'every', intervalMs: 60_000, anchorMs: 0 }, 'UTC', {
        startAtMs: Date.parse('2026-01-01T00:00:00Z'), endAtMs: Date.parse('2026-02-01T00:00:00Z'), jitterMs: 30_000,
      }),
      'every 1m, not before 2026-01-01T00:00:00.000Z, not after 2026-02-01T00:00:00.000Z, jitter up to 30s',
    ],
  ];
  for (const [s, expected] of rows) assert.equal(describeTrigger(s), expected);
});

// The watermark gauge's raw samples → the collector's state (pure).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { watermarkOf } from '../../../src/workers/pipelines/collect-state.ts';

const day = (date: string) => Date.parse(`${date}T00:00:00Z`) / 1000;

describe('watermarkOf', () => {
  const cases: Array<[string, Array<{ ts: number; value: number }>, { watermark: string | undefined; movedBackAtMs: number | undefined }]> = [
    ['no samples: no watermark', [], { watermark: undefined, movedBackAtMs: undefined }],
    ['the newest sample by time, not the largest value', [{ ts: 2, value: day('2026-11-19') }, { ts: 1, value: day('2026-11-24') }], { watermark: '2026-11-19', movedBackAtMs: 2 }],
    ['the collector advancing, or writing the same date again: no move-back', [{ ts: 1, value: day('2026-11-19') }, { ts: 2, value: day('2026-11-24') }, { ts: 3, value: day('2026-11-24') }], { watermark: '2026-11-24', movedBackAtMs: undefined }],
    [
      'moved back by an operator, then a backfill that stopped early (still above the moved value): the move is the operator\'s',
      [{ ts: 1, value: day('2026-11-24') }, { ts: 5, value: day('2026-11-10') }, { ts: 9, value: day('2026-11-16') }],
      { watermark: '2026-11-16', movedBackAtMs: 5 },
    ],
    ['NaN samples are ignored', [{ ts: 1, value: day('2026-11-19') }, { ts: 2, value: NaN }], { watermark: '2026-11-19', movedBackAtMs: undefined }],
  ];
  for (const [name, samples, expected] of cases) {
    it(name, () => assert.deepEqual(watermarkOf(samples), expected));
  }
});

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { jitterDelay } from '../../src/schedule/jitter.ts';

const FIRE = Date.parse('2026-01-01T00:00:00.000Z');

test('jitterDelay is a pure function of (job id, fire): every replica and version agrees', () => {
  // Pinned: changing the hash would move every jittered run of every deployed job.
  const rows: Array<[string, string, number, number]> = [
    ['backup', '2026-01-01T00:00:00.000Z', 60_000, 37157],
    ['backup', '2026-01-01T00:01:00.000Z', 60_000, 28609],
    ['report', '2026-01-01T00:00:00.000Z', 60_000, 18930],
  ];
  for (const [job, iso, jitter, expected] of rows) {
    assert.equal(jitterDelay(job, Date.parse(iso), jitter), expected, `${job} ${iso}`);
    assert.equal(jitterDelay(job, Date.parse(iso), jitter), expected, 'stable on a second call');
  }
});

test('jitterDelay is 0 without jitter', () => {
  for (const jitter of [0, 0.5, -1]) assert.equal(jitterDelay('backup', FIRE, jitter), 0);
});

test('jitterDelay is a whole number of milliseconds in [0, jitterMs), spread evenly', () => {
  for (const jitter of [1, 2, 1000, 3_600_000]) {
    const tenths = new Array<number>(10).fill(0);
    for (let i = 0; i < 1000; i++) {
      const delay = jitterDelay('backup', FIRE + i * 60_000, jitter);
      assert.ok(Number.isInteger(delay) && delay >= 0 && delay < jitter, `${delay} for jitter ${jitter}`);
      const tenth = Math.floor((delay / jitter) * 10);
      tenths[tenth] = (tenths[tenth] ?? 0) + 1;
    }
    if (jitter === 2) assert.deepEqual(tenths.filter((n) => n > 0).length, 2, 'both 0 and 1 occur');
    if (jitter >= 1000) assert.ok(tenths.every((n) => n > 60 && n < 140), `uneven: ${tenths.join(' ')}`);
  }
});

test('jitterDelay differs between jobs sharing a fire time', () => {
  const delays = new Set(Array.from({ length: 100 }, (_, i) => jitterDelay(`job-${i}`, FIRE, 3_600_000)));
  assert.ok(delays.size > 95);
});

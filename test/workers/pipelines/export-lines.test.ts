// /api/v1/export lines split without JSON objects, and VictoriaMetrics' deduplication (pure).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dedupIntervalOf, deduplicate, goDurationMs, hash53, mergeSamples, splitExportLine } from '../../../src/workers/pipelines/export-lines.ts';

describe('splitExportLine', () => {
  it('a plain line: name, labels as JSON text without __name__, values as PostgreSQL reads them', () => {
    const line = splitExportLine('{"metric":{"__name__":"apex_data_pnl","desk":"fx","job":"a"},"values":[2300,1.5e-7,NaN,Inf,-Inf],"timestamps":[1,2,3,4,5]}');
    assert.equal(line.key, '{"__name__":"apex_data_pnl","desk":"fx","job":"a"}');
    assert.equal(line.name, 'apex_data_pnl');
    assert.deepEqual(JSON.parse(line.labelsJson), { desk: 'fx', job: 'a' });
    assert.equal(line.auditId, undefined);
    assert.deepEqual(line.values, ['2300', '1.5e-7', 'NaN', 'Infinity', '-Infinity']);
    assert.deepEqual(line.timestamps, [1, 2, 3, 4, 5]);
  });

  it('only a name, no name, an audit_id, escapes in the name and in values', () => {
    assert.equal(splitExportLine('{"metric":{"__name__":"up"},"values":[1],"timestamps":[1]}').labelsJson, '{}');
    const unnamed = splitExportLine('{"metric":{"a":"1"},"values":[1],"timestamps":[1]}');
    assert.deepEqual([unnamed.name, JSON.parse(unnamed.labelsJson)], ['', { a: '1' }]);
    const audited = splitExportLine('{"metric":{"__name__":"x","audit_id":"A-7","b":"2"},"values":[1],"timestamps":[1]}');
    assert.deepEqual([audited.auditId, JSON.parse(audited.labelsJson)], ['A-7', { audit_id: 'A-7', b: '2' }]);
    const escaped = splitExportLine('{"metric":{"__name__":"we\\"ird","v":"a\\\\b \\"q\\" },\\"values\\":["},"values":[1],"timestamps":[1]}');
    assert.equal(escaped.name, 'we"ird');
    assert.deepEqual(JSON.parse(escaped.labelsJson), { v: 'a\\b "q" },"values":[' });
  });

  it('refuses a line that is not an export line, naming it', () => {
    assert.throws(() => splitExportLine('{"error":"x"}'), /unexpected line in the export: \{"error":"x"\}/);
  });
});

describe('deduplicate (VictoriaMetrics lib/storage/dedup.go)', () => {
  const t0 = Date.UTC(2026, 9, 5);
  const cases: Array<[string, number[], number, number[]]> = [
    // Checked against VictoriaMetrics 1.79's own export with -dedup.minScrapeInterval=30s: [t0, t0+20s].
    ['30s: the first interval ends at t0, the next holds t0+10s and t0+20s: its last', [t0, t0 + 10_000, t0 + 20_000], 30_000, [t0, t0 + 20_000]],
    ['1ms: equal timestamps, the last', [5, 5, 6, 6, 6, 7], 1, [5, 6, 7]],
    ['intervals end at multiples of it: after a gap, 100000 and 100500 fall in two of them', [0, 1_000, 100_000, 100_500], 1_000, [0, 1_000, 100_000, 100_500]],
    ['three samples in one interval after a gap: the last', [0, 100_100, 100_500, 100_900], 1_000, [0, 100_900]],
    ['one sample', [42], 30_000, [42]],
  ];
  for (const [name, timestamps, interval, expected] of cases) {
    it(name, () => {
      const values = timestamps.map((_, i) => String(i));
      const out = deduplicate(timestamps, values, interval);
      assert.deepEqual(out.timestamps, expected);
      assert.deepEqual(out.values.map((v) => timestamps[Number(v)]), expected, 'each kept value is its own sample');
    });
  }
});

describe('mergeSamples', () => {
  const line = (timestamps: number[], values: string[]) => ({ key: 'k', name: 'n', labelsJson: '{}', auditId: undefined, values, timestamps });
  it('the blocks of one series merged by time; of equal timestamps the later block wins', () => {
    assert.deepEqual(mergeSamples([line([3, 5], ['a', 'b']), line([1, 5], ['c', 'd'])], 1), { timestamps: [1, 3, 5], values: ['c', 'a', 'd'] });
    assert.deepEqual(mergeSamples([line([3, 5], ['a', 'b']), line([1, 5], ['c', 'd'])], 0), { timestamps: [1, 3, 5, 5], values: ['c', 'a', 'b', 'd'] });
  });
});

describe('flags and hashes', () => {
  it('reads -dedup.minScrapeInterval from /metrics', () => {
    assert.equal(dedupIntervalOf('flag{name="dedup.minScrapeInterval", value="1m30s", is_set="true"} 1\n'), 90_000);
    assert.equal(dedupIntervalOf('flag{name="dedup.minScrapeInterval", value="0s", is_set="false"} 1\n'), 0);
    assert.equal(dedupIntervalOf('vm_rows 1\n'), undefined);
    assert.deepEqual(['1ms', '2h', '1.5s', '0', 'soon'].map(goDurationMs), [1, 7_200_000, 1_500, 0, undefined]);
  });
  it('hash53 tells series apart and stays within the safe integers', () => {
    const hashes = new Set(Array.from({ length: 100_000 }, (_, i) => hash53(`{"__name__":"m","k":"${i}"}`)));
    assert.equal(hashes.size, 100_000);
    for (const h of [...hashes].slice(0, 100)) assert.ok(Number.isSafeInteger(h));
  });
});

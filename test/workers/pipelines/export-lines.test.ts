// /api/v1/export lines split without JSON objects, and VictoriaMetrics' deduplication (pure).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fastSeriesFields, LineSplitter, locateLine, timestampsOf, valuesOf } from '../../../src/workers/pipelines/export-bytes.ts';
import { dedupIntervalOf, deduplicate, goDurationMs, mergeSamples, splitExportLine } from '../../../src/workers/pipelines/export-lines.ts';

describe('splitExportLine', () => {
  it('a plain line: name, labels as JSON text without __name__, values as PostgreSQL reads them', () => {
    const line = splitExportLine('{"metric":{"__name__":"apex_data_pnl","desk":"fx","job":"a"},"values":[2300,1.5e-7,NaN,Inf,-Inf],"timestamps":[1,2,3,4,5]}');
    assert.equal(line.key, '{"__name__":"apex_data_pnl","desk":"fx","job":"a"}');
    assert.equal(line.name, 'apex_data_pnl');
    assert.deepEqual(JSON.parse(line.labelsJson), { desk: 'fx', job: 'a' });
    assert.equal(line.auditId, undefined);
    assert.deepEqual(line.values, [2300, 1.5e-7, NaN, Infinity, -Infinity]);
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
  const line = (timestamps: number[], values: number[]) => ({ values, timestamps });
  it('the blocks of one series merged by time; of equal timestamps the later block wins', () => {
    assert.deepEqual(mergeSamples([line([3, 5], [30, 50]), line([1, 5], [10, 51])], 1), { timestamps: [1, 3, 5], values: [10, 30, 51] });
    assert.deepEqual(mergeSamples([line([3, 5], [30, 50]), line([1, 5], [10, 51])], 0), { timestamps: [1, 3, 5, 5], values: [10, 30, 50, 51] });
  });
});

describe('flags and hashes', () => {
  it('reads -dedup.minScrapeInterval from /metrics', () => {
    assert.equal(dedupIntervalOf('flag{name="dedup.minScrapeInterval", value="1m30s", is_set="true"} 1\n'), 90_000);
    assert.equal(dedupIntervalOf('flag{name="dedup.minScrapeInterval", value="0s", is_set="false"} 1\n'), 0);
    assert.equal(dedupIntervalOf('vm_rows 1\n'), undefined);
    assert.deepEqual(['1ms', '2h', '1.5s', '0', 'soon'].map(goDurationMs), [1, 7_200_000, 1_500, 0, undefined]);
  });
  it('the line hash tells series apart and stays within the safe integers', () => {
    const hashes = new Set(
      Array.from({ length: 100_000 }, (_, i) => {
        const buf = Buffer.from(`{"metric":{"__name__":"m","k":"${i}"},"values":[1],"timestamps":[1]}`);
        return locateLine(buf, 0, buf.length).hash;
      }),
    );
    assert.equal(hashes.size, 100_000);
    for (const h of [...hashes].slice(0, 100)) assert.ok(Number.isSafeInteger(h));
  });
});

describe('export lines as bytes', () => {
  it('lines split across chunks are joined; a last line without a newline is kept', () => {
    const seen: string[] = [];
    const splitter = new LineSplitter();
    const each = (buf: Buffer, start: number, end: number) => seen.push(buf.toString('utf8', start, end));
    for (const part of ['{"a":1}\n{"b"', ':2}\n', '\n{"c":3}\n{"d"', ':4}']) splitter.push(Buffer.from(part), each);
    splitter.end(each);
    assert.deepEqual(seen, ['{"a":1}', '{"b":2}', '{"c":3}', '{"d":4}']);
  });

  it('the COPY fields of a series come from its bytes; an escaped name or an audit_id needs parsing', () => {
    const at = (text: string) => locateLine(Buffer.from(text), 0, Buffer.byteLength(text));
    const fields = fastSeriesFields(at('{"metric":{"__name__":"pnl","desk":"fx \\\\ é"},"values":[1],"timestamps":[1]}'))!;
    // audit_id NULL (-1), the name (3 bytes), the labels (jsonb version 1, then the JSON text).
    assert.equal(fields.readInt32BE(0), -1);
    assert.equal(fields.readInt32BE(4), 3);
    assert.equal(fields.toString('utf8', 8, 11), 'pnl');
    assert.equal(fields[15], 1);
    assert.deepEqual(JSON.parse(fields.toString('utf8', 16)), { desk: 'fx \\ é' }, 'the escape is kept for jsonb to read');
    assert.equal(fastSeriesFields(at('{"metric":{"__name__":"a\\"b"},"values":[1],"timestamps":[1]}')), undefined);
    assert.equal(fastSeriesFields(at('{"metric":{"__name__":"a","audit_id":"7"},"values":[1],"timestamps":[1]}')), undefined);
    assert.equal(fastSeriesFields(at('{"metric":{"__name__":"up"},"values":[1],"timestamps":[1]}'))!.toString('utf8', 12 + 2 + 1), '{}');
    assert.equal(fastSeriesFields(at('{"metric":{"a":"1"},"values":[1],"timestamps":[1]}')), undefined, 'no name first');
    const line = at('{"metric":{"__name__":"x"},"values":[1.5,NaN,+Inf,-Inf,-2e-7],"timestamps":[1795132800000,-5,0,7,8]}');
    assert.deepEqual(valuesOf(line), [1.5, NaN, Infinity, -Infinity, -2e-7]);
    assert.deepEqual(timestampsOf(line), [1795132800000, -5, 0, 7, 8]);
    assert.throws(() => at('{"metric":{"__name__":"x"},"values":[1]}'), /unexpected line in the export/);
  });
});

// Export lines into samples (pure): the byte path gives the rows and values the general path gives.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { datePrefix, RowBuffer, rowSuffix } from '../../../src/workers/pipelines/copy-binary.ts';
import { LineSplitter, numberAt } from '../../../src/workers/pipelines/export-bytes.ts';
import { ExportRows, HashSet, SeriesRevisited, type SampleSink } from '../../../src/workers/pipelines/export-rows.ts';

describe('numberAt', () => {
  const texts = ['0', '-0', '1', '12', '2300', '-2300', '1.5', '-0.25', '5123.25', '0.1', '0.3', '1e3', '1.5e-7', '-2e-7', '1E+22', '1e22', '1e23', '1e-22', '1e-23',
    '123456789012345', '1234567890123456', '12345678901234567890', '0.000001234', '9007199254740993', '4.35', '1.7976931348623157e308', '5e-324', '2.2250738585072014e-308',
    '.5', '1.', '00012.50', '+3', 'NaN', 'Inf', '+Inf', '-Inf', '1e', '1e+', '-', '1.2.3', 'abc', '1x'];
  for (const text of texts) {
    it(text, () => {
      const expected = text === 'Inf' || text === '+Inf' ? Infinity : text === '-Inf' ? -Infinity : Number(text);
      const buf = Buffer.from(`[${text}]`);
      assert.ok(Object.is(numberAt(buf, 1, buf.length - 1), expected), `${text}: ${numberAt(buf, 1, buf.length - 1)} ≠ ${expected}`);
    });
  }

  it('agrees with Number() on random decimals as VictoriaMetrics writes them', () => {
    let seed = 7;
    const random = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 200_000; i++) {
      const v = (random() - 0.5) * 10 ** Math.floor(random() * 40 - 20);
      for (const text of [String(v), v.toFixed(Math.floor(random() * 6)), v.toPrecision(1 + Math.floor(random() * 16))]) {
        const buf = Buffer.from(text);
        assert.ok(Object.is(numberAt(buf, 0, buf.length), Number(text)), text);
      }
    }
  });
});

describe('HashSet', () => {
  it('tells hashes seen from new ones while it grows', () => {
    const set = new HashSet();
    for (let i = 0; i < 50_000; i++) assert.equal(set.add(i * 2 ** 21 + 12345), true);
    for (let i = 0; i < 50_000; i++) assert.equal(set.add(i * 2 ** 21 + 12345), false);
    assert.equal(set.add(0), true);
    assert.equal(set.add(0), false);
  });
});

/** The rows a sink receives, written with the general row (fields as a buffer) or from bytes. */
function collect(text: string, mode: { blocks: boolean; dedupIntervalMs: number }, chunkSize = 7) {
  const prefix = datePrefix(Date.UTC(2026, 9, 5));
  const suffix = rowSuffix(Date.UTC(2026, 9, 6), 'job', Date.UTC(2026, 9, 6));
  const rows = new RowBuffer();
  const seen: Array<{ via: string; value: number; ts: number }> = [];
  const sink: SampleSink = {
    series(fields, values, timestamps) {
      for (let i = 0; i < timestamps.length; i++) {
        seen.push({ via: 'series', value: values[i]!, ts: timestamps[i]! });
        rows.row(prefix, fields, values[i]!, timestamps[i]!, suffix);
      }
    },
    sample(src, nameStart, nameEnd, labelsStart, labelsEnd, value, ts) {
      seen.push({ via: 'bytes', value, ts });
      rows.rowFromBytes(prefix, src, nameStart, nameEnd, labelsStart, labelsEnd, value, ts, suffix);
    },
  };
  const reader = new ExportRows(sink, mode);
  const splitter = new LineSplitter();
  const each = (buf: Buffer, start: number, end: number) => reader.line(buf, start, end);
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += chunkSize) splitter.push(bytes.subarray(i, i + chunkSize), each);
  splitter.end(each);
  reader.end();
  return { seen, rows: rows.take() };
}

describe('ExportRows', () => {
  const lines = [
    '{"metric":{"__name__":"pnl","desk":"fx \\\\ é","set":"a"},"values":[1.5],"timestamps":[1791158400000]}',
    '{"metric":{"__name__":"up"},"values":[-0.25],"timestamps":[1791158400001]}',
    '{"metric":{"__name__":"pnl","desk":"eq"},"values":[NaN],"timestamps":[1791158400002]}',
  ].join('\n');

  it('a one-sample line goes from its bytes, and its row is the one the general path writes', () => {
    const fast = collect(lines, { blocks: true, dedupIntervalMs: 0 });
    assert.deepEqual(fast.seen.map((s) => s.via), ['bytes', 'bytes', 'bytes']);
    assert.deepEqual(fast.seen.map((s) => s.value), [1.5, -0.25, NaN]);
    // The same lines with each sample twice take the general path: each of its rows is the byte row.
    const general = collect(lines.replace(/"timestamps":\[(\d+)\]/g, '"timestamps":[$1,$1]').replace(/"values":\[([^\]]+)\]/g, '"values":[$1,$1]'), { blocks: true, dedupIntervalMs: 0 });
    assert.deepEqual(general.seen.map((s) => s.via), ['series', 'series', 'series', 'series', 'series', 'series']);
    assert.equal(general.rows.length, 2 * fast.rows.length, 'each general row is the byte row, twice');
    let f = 0;
    let g = 0;
    for (let i = 0; i < 3; i++) {
      const len = rowBytes(fast.rows, f);
      assert.deepEqual(general.rows.subarray(g, g + len), fast.rows.subarray(f, f + len));
      assert.deepEqual(general.rows.subarray(g + len, g + 2 * len), fast.rows.subarray(f, f + len));
      f += len;
      g += 2 * len;
    }
  });

  it('blocks of one series are merged, duplicates kept for the sink to collapse, a series coming back refused', () => {
    const blocks = [
      '{"metric":{"__name__":"m","k":"1"},"values":[3,5],"timestamps":[3,5]}',
      '{"metric":{"__name__":"m","k":"1"},"values":[1,51],"timestamps":[1,5]}',
      '{"metric":{"__name__":"m","k":"2"},"values":[7],"timestamps":[7]}',
    ].join('\n');
    const { seen } = collect(blocks, { blocks: true, dedupIntervalMs: 0 });
    assert.deepEqual(seen.map((s) => [s.ts, s.value]), [[1, 1], [3, 3], [5, 5], [5, 51], [7, 7]]);
    assert.deepEqual(collect(blocks, { blocks: true, dedupIntervalMs: 1 }).seen.map((s) => [s.ts, s.value]), [[1, 1], [3, 3], [5, 51], [7, 7]]);
    assert.throws(() => collect(`${blocks}\n{"metric":{"__name__":"m","k":"1"},"values":[9],"timestamps":[9]}`, { blocks: true, dedupIntervalMs: 0 }), SeriesRevisited);
    assert.doesNotThrow(() => collect(`${blocks}\n{"metric":{"__name__":"m","k":"1"},"values":[9],"timestamps":[9]}`, { blocks: false, dedupIntervalMs: 0 }));
  });

  it('an audit_id label, an escaped name, a timestamp before 1970 and a line with no name take the general path', () => {
    const odd = [
      '{"metric":{"__name__":"a","audit_id":"A-7"},"values":[1],"timestamps":[1]}',
      '{"metric":{"__name__":"we\\"ird"},"values":[2],"timestamps":[2]}',
      '{"metric":{"__name__":"old"},"values":[3],"timestamps":[-5]}',
      '{"metric":{"k":"v"},"values":[4],"timestamps":[4]}',
      '{"metric":{"__name__":"b"},"values":[5],"timestamps":[5]}',
    ].join('\n');
    for (const chunkSize of [1, 13, 1000]) {
      const { seen } = collect(odd, { blocks: true, dedupIntervalMs: 0 }, chunkSize);
      assert.deepEqual(seen.map((s) => [s.via, s.ts]), [['series', 1], ['series', 2], ['series', -5], ['series', 4], ['bytes', 5]]);
    }
  });
});

/** The length of the binary COPY row at `at` (field count, then each field behind its length). */
function rowBytes(rows: Buffer, at: number): number {
  const fields = rows.readInt16BE(at);
  let i = at + 2;
  for (let f = 0; f < fields; f++) {
    const len = rows.readInt32BE(i);
    i += 4 + Math.max(len, 0);
  }
  return i - at;
}

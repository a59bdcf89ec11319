import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { escapeLabelValue, MalformedRecord, metricName, recordsOf, recordsToLines } from '../../../src/workers/pipelines/prometheus-text.ts';

const mapping = { prefix: 'apex_data_', labelFields: ['desk'], labels: { source: 'apex', job: 'apex_collector' } };
const day = Date.UTC(2026, 10, 23);

describe('records → Prometheus text', () => {
  it('turns every numeric field into a sample with the date, the labels and the label fields', () => {
    const lines = recordsToLines([{ desk: 'fx', pnl: 12.5, volume: 3, note: 'ignored', ok: true }], '2026-11-23', day, mapping);
    assert.deepEqual(lines, [
      `apex_data_pnl{business_date="2026-11-23",source="apex",job="apex_collector",desk="fx"} 12.5 ${day}`,
      `apex_data_volume{business_date="2026-11-23",source="apex",job="apex_collector",desk="fx"} 3 ${day}`,
    ]);
  });

  it('escapes label values and sanitises names', () => {
    assert.equal(escapeLabelValue('a\\b"c\nd'), 'a\\\\b\\"c\\nd');
    assert.equal(metricName('apex_data_p&l-ratio'), 'apex_data_p_l_ratio');
    assert.equal(metricName('1st'), '_1st');
    const [line] = recordsToLines([{ desk: 'rates "EU"\\x', 'p&l': 1 }], '2026-11-23', day, mapping);
    assert.equal(line, `apex_data_p_l{business_date="2026-11-23",source="apex",job="apex_collector",desk="rates \\"EU\\"\\\\x"} 1 ${day}`);
  });

  it('leaves out a missing label field and keeps a numeric one as a label, not a sample', () => {
    const lines = recordsToLines([{ pnl: 1 }, { desk: 7, pnl: 2 }], '2026-11-23', day, mapping);
    assert.match(lines[0]!, /job="apex_collector"\} 1 /);
    assert.match(lines[1]!, /desk="7"\} 2 /);
    assert.equal(lines.length, 2);
  });

  it('names the record that is malformed', () => {
    assert.throws(() => recordsToLines([{ pnl: 1 }, 'oops'], '2026-11-23', day, mapping), (err: Error) => err instanceof MalformedRecord && /record 2 is a string/.test(err.message));
    assert.throws(() => recordsToLines([{ desk: { a: 1 } }], '2026-11-23', day, mapping), /record 1: label field "desk" is an object/);
  });

  it('finds the records in an array or under data / records / items / results', () => {
    assert.deepEqual(recordsOf([1]), [1]);
    assert.deepEqual(recordsOf({ data: [2] }), [2]);
    assert.deepEqual(recordsOf({ records: [3] }), [3]);
    assert.equal(recordsOf({ rows: [] }), undefined);
    assert.equal(recordsOf('x'), undefined);
  });
});

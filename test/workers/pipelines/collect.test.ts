// vm-collect against a real VictoriaMetrics and a local stand-in for the REST source.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunResult } from '../../../src/workers/result.ts';
import { runPipeline, type PipelineJob } from '../../../src/workers/pipelines/run.ts';
import { memoryLogger, vmCollectJob } from '../../helpers/definitions.ts';
import { startRestSource, type RestSource } from '../../helpers/rest-source.ts';
import { startVictoriaMetrics, type VictoriaMetrics } from '../../helpers/victoria-metrics.ts';

// Thursday 2026-11-19 to Tuesday 2026-11-24: four business dates across a weekend.
const TUESDAY_NOON = Date.UTC(2026, 10, 24, 12);
const FAST_RETRIES = [10, 10, 10];

let vm: VictoriaMetrics;
let source: RestSource;

before(async () => {
  [vm, source] = await Promise.all([startVictoriaMetrics(), startRestSource()]);
});
after(async () => {
  await Promise.all([vm?.stop(), source?.close()]);
});

async function collect(def: PipelineJob, fireTimeMs = TUESDAY_NOON): Promise<RunResult> {
  const { logger } = memoryLogger();
  const result = await runPipeline(def, { runId: 'r', fireTimeMs, attempt: 1, instance: 't:1', log: logger, retryDelaysMs: FAST_RETRIES });
  await vm.flush();
  return result;
}

/** business_date → samples per series, for the series with these labels. */
async function samplesByDate(match: string): Promise<Map<string, number[]>> {
  const byDate = new Map<string, number[]>();
  for (const s of await vm.exportSeries(match)) {
    const date = s.metric.business_date!;
    byDate.set(date, [...(byDate.get(date) ?? []), s.timestamps.length]);
  }
  return byDate;
}

async function gauge(match: string): Promise<number | undefined> {
  const series = await vm.exportSeries(match);
  const samples = series.flatMap((s) => s.timestamps.map((t, i) => ({ t, v: s.values[i]! }))).sort((a, b) => a.t - b.t);
  return samples.at(-1)?.v;
}

const day = (date: string) => Date.parse(`${date}T00:00:00Z`) / 1000;

describe('vm-collect', () => {
  const def = vmCollectJob({
    task: { source: { url: '', dateParam: 'business_date', timeoutMs: 2_000, token: 's3cret' }, victoriametrics: { url: '' } },
  });
  before(() => {
    def.task.source.url = source.url;
    def.task.victoriametrics.url = vm.url;
  });

  it('a failing date in the middle: partial, the watermark stops before it, later dates are imported', async () => {
    source.behaviour.set('2026-11-20', 'fail');
    const result = await collect(def);
    assert.equal(result.status, 'partial', result.message);
    assert.equal(result.details.watermark_before, null);
    assert.equal(result.details.watermark_after, '2026-11-19');
    assert.deepEqual(result.details.dates_processed, ['2026-11-19', '2026-11-23', '2026-11-24']);
    assert.deepEqual((result.details.dates_failed as Array<{ date: string }>).map((f) => f.date), ['2026-11-20']);
    assert.match(result.error!, /2026-11-20: GET http:\/\/127\.0\.0\.1:\d+\/apex\/data: HTTP 500: upstream database unavailable \(after 4 attempts\)/);
    assert.equal(source.requests.get('2026-11-20'), 4, 'a 5xx is retried (3 retries)');
    assert.equal(source.lastAuthorization, 'Bearer s3cret');
    assert.equal(result.details.samples_written, 3 * 3 * 2, '3 dates × 3 desks × 2 numeric fields');

    const pnl = await samplesByDate('apex_data_pnl{job="apex_collector"}');
    assert.deepEqual([...pnl.keys()].sort(), ['2026-11-19', '2026-11-23', '2026-11-24']);
    const fx = await vm.exportSeries('apex_data_pnl{business_date="2026-11-23",desk="fx"}');
    assert.deepEqual(fx.map((s) => [s.metric, s.values, s.timestamps]), [
      [
        { __name__: 'apex_data_pnl', business_date: '2026-11-23', source: 'apex', job: 'apex_collector', desk: 'fx' },
        [2300],
        [day('2026-11-23') * 1000],
      ],
    ]);
    assert.equal(await gauge('apex_collector_watermark_days'), day('2026-11-19'));
    assert.equal(await gauge('apex_collector_job_status'), 0);
  });

  it('after the source recovers: the watermark reaches the current business date and nothing is imported twice', async () => {
    source.behaviour.delete('2026-11-20');
    const result = await collect(def);
    assert.equal(result.status, 'succeeded', result.message);
    assert.equal(result.details.watermark_before, '2026-11-19');
    assert.equal(result.details.watermark_after, '2026-11-24');
    assert.deepEqual(result.details.dates_processed, ['2026-11-20']);
    assert.deepEqual(result.details.dates_skipped, ['2026-11-23', '2026-11-24'], 'dates imported by the partial run are not imported again');
    for (const match of ['apex_data_pnl{job="apex_collector"}', 'apex_data_volume{job="apex_collector"}']) {
      const byDate = await samplesByDate(match);
      assert.deepEqual([...byDate.keys()].sort(), ['2026-11-19', '2026-11-20', '2026-11-23', '2026-11-24']);
      for (const [date, counts] of byDate) assert.deepEqual(counts, [1, 1, 1], `${match} ${date}: one sample per series`);
    }
    assert.equal(await gauge('apex_collector_watermark_days'), day('2026-11-24'));
    assert.equal(await gauge('apex_collector_job_status'), 1);

    const again = await collect(def);
    assert.equal(again.status, 'succeeded');
    assert.match(again.message, /up to date/);
    assert.equal(again.details.samples_written, 0);
  });

  it('the next business date after a weekend is picked up by a later fire', async () => {
    const result = await collect(def, Date.UTC(2026, 10, 25, 9));
    assert.deepEqual(result.details.dates_processed, ['2026-11-25']);
    assert.equal(result.details.watermark_after, '2026-11-25');
  });

  it('malformed source data: a clear error naming the date, nothing imported for that date', async () => {
    const other = vmCollectJob({
      task: {
        source: { url: source.url, dateParam: 'business_date', timeoutMs: 2_000 },
        victoriametrics: { url: vm.url },
        labels: { source: 'apex', job: 'malformed' },
        watermark: { metric: 'malformed_watermark_days', startDate: '2026-11-19' },
        statusMetric: 'malformed_job_status',
      },
    });
    source.requests.clear();
    source.behaviour.set('2026-11-19', 'malformed');
    source.behaviour.set('2026-11-23', 'not-an-object');
    try {
      const result = await collect(other);
      assert.equal(result.status, 'partial');
      const failed = result.details.dates_failed as Array<{ date: string; error: string }>;
      assert.deepEqual(failed.map((f) => f.date), ['2026-11-19', '2026-11-23']);
      assert.match(failed[0]!.error, /^2026-11-19: the source answered with malformed JSON/);
      assert.match(failed[1]!.error, /^2026-11-23: record 2 is a number, not an object/);
      assert.equal(source.requests.get('2026-11-19'), 1, 'malformed data is not retried');
      const byDate = await samplesByDate('{__name__=~"apex_data_.*",job="malformed"}');
      assert.deepEqual([...byDate.keys()].sort(), ['2026-11-20', '2026-11-24'], 'nothing from the malformed dates, not even the good records of 2026-11-23');
      assert.equal(result.details.watermark_after, null, 'the first date failed: no watermark yet');
      assert.equal(await gauge('malformed_watermark_days'), undefined);
    } finally {
      source.behaviour.clear();
    }
  });

  it('a slow source: the date fails after the source timeout, and a 503 that clears is retried to success', async () => {
    const other = vmCollectJob({
      task: {
        source: { url: source.url, dateParam: 'business_date', timeoutMs: 300 },
        victoriametrics: { url: vm.url },
        labels: { job: 'slow' },
        watermark: { metric: 'slow_watermark_days', startDate: '2026-11-23' },
        statusMetric: 'slow_job_status',
      },
    });
    source.behaviour.set('2026-11-23', { failTimes: 2 });
    source.behaviour.set('2026-11-24', 'slow');
    try {
      const result = await collect(other);
      assert.equal(result.status, 'partial');
      assert.deepEqual(result.details.dates_processed, ['2026-11-23']);
      const failed = result.details.dates_failed as Array<{ date: string; error: string }>;
      assert.match(failed[0]!.error, /^2026-11-24: GET .*: no answer within 300 ms \(after 4 attempts\)/);
      assert.equal(await gauge('slow_watermark_days'), day('2026-11-23'));
    } finally {
      source.behaviour.clear();
    }
  });
});

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

/** One run, as the agent would start it: nothing is flushed before or after (the run sees to its own writes). */
async function collect(def: PipelineJob, fireTimeMs = TUESDAY_NOON, extra: { visibilityWaitMs?: number } = {}): Promise<RunResult> {
  const { logger } = memoryLogger();
  return runPipeline(def, { runId: 'r', fireTimeMs, attempt: 1, instance: 't:1', log: logger, retryDelaysMs: FAST_RETRIES, ...extra });
}

/** business_date → samples per series, for the series with these labels. */
async function samplesByDate(match: string, from: VictoriaMetrics = vm): Promise<Map<string, number[]>> {
  const byDate = new Map<string, number[]>();
  for (const s of await from.exportSeries(match)) {
    const date = s.metric.business_date!;
    byDate.set(date, [...(byDate.get(date) ?? []), s.timestamps.length]);
  }
  return byDate;
}

async function gauge(match: string, from: VictoriaMetrics = vm): Promise<number | undefined> {
  const series = await from.exportSeries(match);
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

/** A collector of its own (labels, watermark, status), so that its series are new to VictoriaMetrics. */
function ownCollector(name: string, on: VictoriaMetrics) {
  return vmCollectJob({
    task: {
      source: { url: source.url, dateParam: 'business_date', timeoutMs: 2_000 },
      victoriametrics: { url: on.url },
      labels: { source: 'apex', job: name },
      watermark: { metric: `${name}_watermark_days`, startDate: '2026-11-19' },
      statusMetric: `${name}_job_status`,
    },
  });
}

/** Two runs with no pause between them: the second plans from the first's state and imports nothing. */
async function backToBack(name: string, on: VictoriaMetrics): Promise<[RunResult, RunResult]> {
  const def = ownCollector(name, on);
  const first = await collect(def);
  const second = await collect(def);
  assert.equal(first.status, 'succeeded', first.message);
  assert.equal(second.details.watermark_before, '2026-11-24', 'the second run starts from the first one\'s watermark');
  assert.deepEqual(second.details.dates_processed, []);
  assert.equal(second.details.samples_written, 0);
  const byDate = await samplesByDate(`{__name__=~"apex_data_.*",job="${name}"}`, on);
  assert.deepEqual([...byDate.keys()].sort(), ['2026-11-19', '2026-11-20', '2026-11-23', '2026-11-24']);
  for (const [date, counts] of byDate) assert.deepEqual(counts, [1, 1, 1, 1, 1, 1], `${date}: one sample per series, nothing imported twice`);
  assert.equal(first.details.state_visible, true, JSON.stringify(first.details));
  return [first, second];
}

describe('vm-collect runs back to back (no flush between them)', () => {
  it('a server that answers force_flush: the run flushes, reads its state back, and the next run starts from it', async () => {
    const [first] = await backToBack('b2b', vm);
    assert.equal(first.details.force_flush, 'answered');
  });

  it('an operator moving the watermark gauge back backfills the dates after it, markers notwithstanding', async () => {
    const def = ownCollector('b2b', vm);
    // What the original service documents for a backfill: write the gauge with an older date, now.
    await vm.importLines([`b2b_watermark_days{source="apex",job="b2b"} ${day('2026-11-19')}`]);
    const backfill = await collect(def);
    assert.equal(backfill.status, 'succeeded', backfill.message);
    assert.equal(backfill.details.watermark_before, '2026-11-19');
    assert.deepEqual(backfill.details.dates_processed, ['2026-11-20', '2026-11-23', '2026-11-24']);
    assert.deepEqual(backfill.details.dates_skipped, [], 'the markers written before the move do not count');
    assert.equal(backfill.details.watermark_after, '2026-11-24');
    const next = await collect(def);
    assert.deepEqual(next.details.dates_processed, [], 'and the backfill is not repeated');
  });

  describe('a server that does not answer force_flush (-forceFlushAuthKey, like vminsert or a vmauth without the route)', () => {
    let locked: VictoriaMetrics;
    before(async () => {
      locked = await startVictoriaMetrics(['-forceFlushAuthKey=not-given-to-jobsd']);
    });
    after(async () => {
      await locked?.stop();
    });

    it('the run reads its state back until it shows, and the next run starts from it', async () => {
      const [first] = await backToBack('b2b_locked', locked);
      assert.match(String(first.details.force_flush), /^not answered \(HTTP 4\d\d\)$/);
      assert.ok(Number(first.details.state_visible_ms) > 0, JSON.stringify(first.details));
    });

    it('a state that does not show within the wait is reported in the result', async () => {
      const result = await collect(ownCollector('b2b_unseen', locked), TUESDAY_NOON, { visibilityWaitMs: 0 });
      assert.equal(result.status, 'succeeded', 'every date was imported');
      assert.equal(result.details.state_visible, false);
      assert.match(result.message, /the watermark did not show in VictoriaMetrics within \d+ ms \(a run started now could import again\)/);
    });
  });
});

// vm-extract against a real VictoriaMetrics and a real PostgreSQL, fed by vm-collect from a local source.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import type { RunResult } from '../../../src/workers/result.ts';
import { runPipeline, type PipelineJob } from '../../../src/workers/pipelines/run.ts';
import { freshDatabase } from '../../helpers/db.ts';
import { pollUntil } from '../../helpers/poll.ts';
import { memoryLogger, vmCollectJob, vmExtractJob } from '../../helpers/definitions.ts';
import { startRestSource, type RestSource } from '../../helpers/rest-source.ts';
import { startVictoriaMetrics, type VictoriaMetrics } from '../../helpers/victoria-metrics.ts';

const TUESDAY_NOON = Date.UTC(2026, 10, 24, 12);
const DATES = ['2026-11-19', '2026-11-20', '2026-11-23', '2026-11-24'];

let vm: VictoriaMetrics;
let source: RestSource;
let url: string;
let db: pg.Client;

/** One run, as the agent would start it: nothing flushed before or after. */
async function run(def: PipelineJob): Promise<RunResult> {
  return runPipeline(def, { runId: 'r', fireTimeMs: TUESDAY_NOON, attempt: 1, instance: 't:1', log: memoryLogger().logger });
}

/** The extractor's status gauge once it shows (VictoriaMetrics makes a write searchable 1–10 s later). */
async function statusShows(value: number, on: VictoriaMetrics = vm): Promise<void> {
  await pollUntil(async () => (await on.exportSeries('extractor_job_status{job="apex-extractor"}'))[0]?.values.at(-1) === value, {
    timeoutMs: 20_000,
    intervalMs: 200,
    what: `extractor_job_status ${value}`,
  });
}

before(async () => {
  // Deduplication on, as docs/pipelines.md recommends for re-imports (sliding windows, retried dates).
  [vm, source, url] = await Promise.all([startVictoriaMetrics(['-dedup.minScrapeInterval=1ms']), startRestSource(), freshDatabase('extract')]);
  db = new pg.Client({ connectionString: url });
  await db.connect();
  const collected = await run(
    vmCollectJob({ task: { source: { url: source.url, dateParam: 'business_date', timeoutMs: 2_000 }, victoriametrics: { url: vm.url } } }),
  );
  assert.equal(collected.status, 'succeeded', collected.message);
});
after(async () => {
  await db?.end();
  await Promise.all([vm?.stop(), source?.close()]);
});

interface Row {
  biz_date: string;
  metric_name: string;
  labels: Record<string, string>;
  value: number;
  ts: string;
  extracted_at: Date;
}

async function rows(date?: string): Promise<Row[]> {
  const { rows } = await db.query<Row>(
    `SELECT biz_date::text, metric_name, labels, value, "timestamp" AS ts, extracted_at FROM vm_extracted_metrics
      WHERE job_id = 'apex-extractor' AND ($1::date IS NULL OR biz_date = $1) ORDER BY biz_date, metric_name, labels->>'desk', "timestamp"`,
    [date ?? null],
  );
  return rows;
}

function countByDate(list: Row[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const r of list) counts[r.biz_date] = (counts[r.biz_date] ?? 0) + 1;
  return counts;
}

describe('vm-extract', () => {
  let def: PipelineJob;
  before(() => {
    def = vmExtractJob({ task: { victoriametrics: { url: vm.url }, databaseUrl: url, chunkSizeDays: 2 } });
  });

  it('copies every collected series into PostgreSQL, creating the tables, one business date per transaction', async () => {
    const result = await run(def);
    assert.equal(result.status, 'succeeded', result.message);
    assert.deepEqual(result.details.dates_processed, DATES);
    assert.deepEqual(result.details.dates_skipped, ['2026-11-16', '2026-11-17', '2026-11-18'], 'no data in VictoriaMetrics for these');
    assert.equal(result.details.samples_read, 4 * 3 * 2, JSON.stringify(result.details));
    assert.equal(result.details.samples_written, 4 * 3 * 2);
    const all = await rows();
    assert.deepEqual(countByDate(all), { '2026-11-19': 6, '2026-11-20': 6, '2026-11-23': 6, '2026-11-24': 6 });
    const fx = all.find((r) => r.biz_date === '2026-11-23' && r.metric_name === 'apex_data_pnl' && r.labels.desk === 'fx')!;
    assert.deepEqual(fx.labels, { business_date: '2026-11-23', source: 'apex', job: 'apex_collector', desk: 'fx' });
    assert.equal(fx.value, 2300);
    assert.equal(new Date(fx.ts).toISOString(), '2026-11-23T00:00:00.000Z');
    const { rows: jobs } = await db.query(`SELECT business_date::text AS d, records_processed::int AS n, max_data_timestamp, error_message
      FROM vm_extraction_jobs WHERE job_id = 'apex-extractor' ORDER BY business_date`);
    assert.deepEqual(jobs.map((j) => [j.d, j.n, j.max_data_timestamp.toISOString(), j.error_message]), DATES.map((d) => [d, 6, `${d}T00:00:00.000Z`, null]));
    await statusShows(1);
  });

  it('a second run writes nothing new', async () => {
    const before = await rows();
    const result = await run(def);
    assert.equal(result.status, 'succeeded');
    assert.deepEqual(result.details.dates_processed, []);
    assert.equal(result.details.samples_written, 0);
    assert.deepEqual(await rows(), before, 'same rows, same extracted_at');
  });

  it('new samples for one date re-extract only that date', async () => {
    const before = await rows();
    const noon = Date.UTC(2026, 10, 23, 12);
    await vm.importLines([`apex_data_pnl{business_date="2026-11-23",source="apex",job="apex_collector",desk="fx"} 2399 ${noon}`]);
    const result = await run(def);
    assert.equal(result.status, 'succeeded', result.message);
    assert.deepEqual(result.details.dates_processed, ['2026-11-23']);
    assert.equal(result.details.samples_written, 7);
    const now = await rows();
    assert.deepEqual(countByDate(now), { '2026-11-19': 6, '2026-11-20': 6, '2026-11-23': 7, '2026-11-24': 6 });
    for (const date of ['2026-11-19', '2026-11-20', '2026-11-24']) {
      assert.deepEqual(now.filter((r) => r.biz_date === date), before.filter((r) => r.biz_date === date), `${date} untouched`);
    }
    assert.ok(now.some((r) => r.value === 2399 && new Date(r.ts).getTime() === noon));
  });

  it('samples that arrive late with an old timestamp (a collector still importing) are picked up too', async () => {
    await vm.importLines([`apex_data_pnl{business_date="2026-11-19",source="apex",job="apex_collector",desk="late"} 1 ${Date.UTC(2026, 10, 19)}`]);
    const result = await run(def);
    assert.deepEqual(result.details.dates_processed, ['2026-11-19']);
    assert.equal((await rows('2026-11-19')).length, 7);
  });

  it('the same samples imported again (a re-collected date) are neither extracted twice nor re-extracted', async () => {
    const before = await rows('2026-11-20');
    const again = (await vm.exportSeries('{__name__=~"apex_data_.*",business_date="2026-11-20"}')).flatMap((s) =>
      s.timestamps.map((t, i) => `${s.metric.__name__}{${Object.entries(s.metric).filter(([k]) => k !== '__name__').map(([k, v]) => `${k}="${v}"`).join(',')}} ${s.values[i]} ${t}`),
    );
    await vm.importLines(again);
    const result = await run(def);
    assert.deepEqual(result.details.dates_processed, [], 'nothing is behind');
    assert.deepEqual(await rows('2026-11-20'), before);
    // A newer sample makes the date behind: it is read again, each sample once despite the re-import.
    await vm.importLines([`apex_data_pnl{business_date="2026-11-20",source="apex",job="apex_collector",desk="fx"} 7 ${Date.UTC(2026, 10, 20, 3)}`]);
    const newer = await run(def);
    assert.deepEqual(newer.details.dates_processed, ['2026-11-20']);
    assert.equal((await rows('2026-11-20')).length, before.length + 1);
  });

  it('a failure in the middle of a date rolls that date back alone: its previous rows stay', async () => {
    // A trigger that fails the insert of one series, after other rows of the same date were inserted.
    await db.query(`CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.metric_name = 'apex_data_poison' THEN RAISE EXCEPTION 'poisoned sample'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER poison BEFORE INSERT ON vm_extracted_metrics FOR EACH ROW EXECUTE FUNCTION poison();`);
    const before = await rows('2026-11-24');
    const t = Date.UTC(2026, 10, 24, 6);
    await vm.importLines([
      `apex_data_pnl{business_date="2026-11-24",source="apex",job="apex_collector",desk="fx"} 1 ${t}`,
      `apex_data_poison{business_date="2026-11-24",source="apex",job="apex_collector"} 1 ${t}`,
      `apex_data_pnl{business_date="2026-11-20",source="apex",job="apex_collector",desk="fx"} 5 ${Date.UTC(2026, 10, 20, 6)}`,
    ]);
    try {
      const result = await run(def);
      assert.equal(result.status, 'partial', result.message);
      assert.deepEqual(result.details.dates_processed, ['2026-11-20']);
      const failed = result.details.dates_failed as Array<{ date: string; error: string }>;
      assert.deepEqual(failed.map((f) => f.date), ['2026-11-24']);
      assert.match(failed[0]!.error, /^2026-11-24: poisoned sample/);
      assert.deepEqual(await rows('2026-11-24'), before, 'the rows of 2026-11-24 are the previous ones');
      assert.equal((await rows('2026-11-20')).length, 8);
      const { rows: jobs } = await db.query(`SELECT error_message FROM vm_extraction_jobs
        WHERE job_id = 'apex-extractor' AND business_date = '2026-11-24' ORDER BY completed_at DESC LIMIT 1`);
      assert.match(jobs[0].error_message, /poisoned sample/);
      await statusShows(0);
    } finally {
      await db.query('DROP TRIGGER poison ON vm_extracted_metrics');
    }
    const retried = await run(def);
    assert.equal(retried.status, 'succeeded', retried.message);
    assert.deepEqual(retried.details.dates_processed, ['2026-11-24'], 'the failed date is still behind, and only it');
    assert.equal((await rows('2026-11-24')).length, 8);
  });
});

describe('vm-extract right after a vm-collect (no pause, no flush)', () => {
  it('sees every date the collect imported, each whole', async () => {
    const collector = vmCollectJob({
      task: { source: { url: source.url, dateParam: 'business_date', timeoutMs: 2_000 }, victoriametrics: { url: vm.url }, labels: { source: 'apex', job: 'at_once' } },
    });
    const collected = await run(collector);
    const extracted = await run(
      vmExtractJob({ id: 'at-once', task: { victoriametrics: { url: vm.url }, databaseUrl: url, query: '{__name__=~"apex_data_.*",job="at_once"}', chunkSizeDays: 2 } }),
    );
    assert.equal(extracted.status, 'succeeded', extracted.message);
    const { rows } = await db.query(`SELECT biz_date::text AS d, count(*)::int AS n FROM vm_extracted_metrics WHERE job_id = 'at-once' GROUP BY 1 ORDER BY 1`);
    assert.deepEqual(rows, (collected.details.dates_processed as string[]).map((d) => ({ d, n: 3 * 2 })), 'every date, whole: 3 desks × 2 fields');
  });
});

describe('vm-extract from a VictoriaMetrics that holds samples twice (no -dedup.minScrapeInterval)', () => {
  let plain: VictoriaMetrics;
  let dupUrl: string;
  before(async () => {
    [plain, dupUrl] = await Promise.all([startVictoriaMetrics(), freshDatabase('extract_dups')]);
  });
  after(async () => {
    await plain?.stop();
  });

  it('writes one row per (series, timestamp), and a second run finds nothing behind', async () => {
    // A collector re-importing its dates (sliding_window_days), as after a run that missed its watermark.
    const collector = vmCollectJob({
      task: { source: { url: source.url, dateParam: 'business_date', timeoutMs: 2_000 }, victoriametrics: { url: plain.url }, slidingWindowDays: 4 },
    });
    for (let i = 0; i < 2; i++) assert.equal((await run(collector)).status, 'succeeded');
    const stored = await plain.exportSeries('apex_data_pnl{business_date="2026-11-23",desk="fx"}');
    assert.deepEqual(stored[0]?.values, [2300, 2300], 'VictoriaMetrics holds the sample twice');

    const def = vmExtractJob({ task: { victoriametrics: { url: plain.url }, databaseUrl: dupUrl, chunkSizeDays: 2 } });
    const result = await run(def);
    assert.equal(result.status, 'succeeded', result.message);
    assert.equal(result.details.samples_read, 2 * 4 * 3 * 2, 'each sample exported twice');
    assert.equal(result.details.samples_written, 4 * 3 * 2, 'and written once');
    const client = new pg.Client({ connectionString: dupUrl });
    await client.connect();
    try {
      const { rows } = await client.query(`SELECT metric_name, labels, "timestamp", count(*)::int AS n FROM vm_extracted_metrics
        GROUP BY 1, 2, 3 HAVING count(*) > 1`);
      assert.deepEqual(rows, [], 'no (series, timestamp) twice');
      const { rows: total } = await client.query(`SELECT count(*)::int AS n FROM vm_extracted_metrics`);
      assert.equal(total[0].n, 24);
    } finally {
      await client.end();
    }
    const again = await run(def);
    assert.deepEqual(again.details.dates_processed, [], 'the duplicates do not make the dates look behind');
  });
});

describe('vm-extract of series stored in several blocks (imported at different times), -dedup.minScrapeInterval=30s', () => {
  let dedup: VictoriaMetrics;
  let blocksUrl: string;
  const t0 = Date.UTC(2026, 10, 23, 6);
  before(async () => {
    [dedup, blocksUrl] = await Promise.all([startVictoriaMetrics(['-dedup.minScrapeInterval=30s']), freshDatabase('extract_blocks')]);
    // Three imports, each searchable before the next (so each lands in a part of its own), 10 s of samples apart.
    for (let pass = 0; pass < 3; pass++) {
      const lines = [`blk_one{k="0"} ${pass} ${t0 + pass * 10_000}`, ...Array.from({ length: 300 }, (_, s) => `blk_many{k="${s}"} ${pass} ${t0 + pass * 10_000}`)];
      await dedup.importLines(lines);
      await pollUntil(async () => (await dedup.exportSeries('blk_one'))[0]?.timestamps.at(-1) === t0 + pass * 10_000, { timeoutMs: 20_000, intervalMs: 100, what: `import ${pass} searchable` });
    }
  });
  after(async () => {
    await dedup?.stop();
  });

  for (const name of ['blk_one', 'blk_many']) {
    it(`${name}: the rows are what VictoriaMetrics answers for the series, deduplicated as it does`, async () => {
      const { logger, entries } = memoryLogger();
      const def = vmExtractJob({ id: `extract-${name}`, task: { victoriametrics: { url: dedup.url }, databaseUrl: blocksUrl, query: name } });
      const result = await runPipeline(def, { runId: 'r', fireTimeMs: TUESDAY_NOON, attempt: 1, instance: 't:1', log: logger });
      assert.equal(result.status, 'succeeded', result.message);
      const expected = (await dedup.exportSeries(name)).flatMap((s) => s.timestamps.map((t, i) => `${s.metric.k} ${t} ${s.values[i]}`)).sort();
      assert.equal(expected.length, name === 'blk_one' ? 2 : 600, 'VictoriaMetrics keeps t0 and t0+20s of each series');
      const client = new pg.Client({ connectionString: blocksUrl });
      await client.connect();
      try {
        const { rows } = await client.query(`SELECT labels->>'k' AS k, (extract(epoch FROM "timestamp") * 1000)::bigint AS t, value FROM vm_extracted_metrics WHERE job_id = $1`, [def.id]);
        assert.deepEqual(rows.map((r) => `${r.k} ${r.t} ${r.value}`).sort(), expected);
      } finally {
        await client.end();
      }
      if (name === 'blk_one') {
        assert.ok(!entries.some((e) => String(e.msg).startsWith('series in several blocks apart')), 'one series: its blocks come together and are merged here');
      }
      const again = await runPipeline(def, { runId: 'r', fireTimeMs: TUESDAY_NOON, attempt: 1, instance: 't:1', log: logger });
      assert.deepEqual(again.details.dates_processed, [], 'nothing behind afterwards');
    });
  }
});

describe('vm-extract of values and labels that need care', () => {
  const t = Date.UTC(2026, 10, 20, 6);
  before(async () => {
    await vm.importLines([
      `odd_values{k="nan"} NaN ${t}`, // VictoriaMetrics 1.79 drops it on import: it is not in the export
      `odd_values{k="inf"} +Inf ${t}`,
      `odd_values{k="ninf"} -Inf ${t}`,
      `odd_values{k="esc",v="a\\\\b \\"q\\" é\\n"} 1.5 ${t}`,
      `odd_values{k="audit",audit_id="A-7"} -2e-7 ${t}`,
    ]);
  });

  async function odd(jobId: string): Promise<Array<{ metric_name: string; audit_id: string | null; labels: Record<string, string>; value: number; ts: Date }>> {
    const { rows } = await db.query(`SELECT metric_name, audit_id, labels, value, "timestamp" AS ts FROM vm_extracted_metrics WHERE job_id = $1 ORDER BY labels->>'k', "timestamp"`, [jobId]);
    return rows;
  }

  it('±Inf, escaped label values and an audit_id arrive as they are in VictoriaMetrics', async () => {
    const result = await run(vmExtractJob({ id: 'odd-values', task: { victoriametrics: { url: vm.url }, databaseUrl: url, query: 'odd_values' } }));
    assert.equal(result.status, 'succeeded', result.message);
    const rows = await odd('odd-values');
    assert.deepEqual(
      rows.map((r) => [r.labels.k, r.metric_name, r.audit_id, r.value, r.ts.getTime()]),
      [
        ['audit', 'odd_values', 'A-7', -2e-7, t],
        ['esc', 'odd_values', null, 1.5, t],
        ['inf', 'odd_values', null, Infinity, t],
        ['ninf', 'odd_values', null, -Infinity, t],
      ],
    );
    assert.deepEqual(rows[1]!.labels, { k: 'esc', v: 'a\\b "q" é\n' });
    assert.deepEqual(rows[0]!.labels, { k: 'audit', audit_id: 'A-7' });
  });

  it('with step: query_range points, the labels of the series', async () => {
    const result = await run(vmExtractJob({ id: 'odd-step', task: { victoriametrics: { url: vm.url }, databaseUrl: url, query: 'odd_values{k="esc"}', stepMs: 3_600_000 } }));
    assert.equal(result.status, 'succeeded', result.message);
    const rows = await odd('odd-step');
    assert.ok(rows.length >= 1, JSON.stringify(result.details));
    for (const r of rows) {
      assert.deepEqual([r.metric_name, r.labels, r.value], ['odd_values', { k: 'esc', v: 'a\\b "q" é\n' }, 1.5]);
      assert.equal(r.ts.getTime() % 3_600_000, 0, 'at the step');
    }
  });
});

// vm-extract (design §4): VictoriaMetrics series → PostgreSQL, one transaction per business date, only the
// dates where VictoriaMetrics holds newer samples than were extracted last time.
import pg from 'pg';
import { isSeriesSelector } from '../../definitions/normalize-task.ts';
import type { VmExtractTask } from '../../definitions/types.ts';
import { chunks, dateMs, DAY_MS, extractWindow } from './business-dates.ts';
import { MAX_OPEN_DATES, readChunk, type ExportMode } from './extract-read.ts';
import { SeriesRevisited } from './export-rows.ts';
import { ensureTables, recordedNewest, recordFailure, type DateWriter } from './extract-store.ts';
import { sampleLine } from './prometheus-text.ts';
import type { PipelineOutcome, PipelineRun } from './types.ts';
import { dedupIntervalMs, forceFlush, importLines, queryInstant } from './vm-http.ts';

/** Freshness queries in flight at once. */
const FRESHNESS_CONCURRENCY = 4;

/** What VictoriaMetrics holds for one business date. */
export interface DateFreshness {
  newestMs: number;
  samples: number;
}

/**
 * The newest sample timestamp and the number of samples per business date, as VictoriaMetrics holds them
 * now: one instant query per date, evaluated at the day's last millisecond with a 1d window, so that each
 * query touches only that day's series (a window-wide query_range would touch every series of every date and
 * hit -search.maxUniqueTimeseries sooner). Uncached, so backfilled samples show. The count catches samples
 * that arrive late with a timestamp no newer than those already extracted (a collector still importing the
 * date when the extractor read it).
 */
export async function freshnessPerDate(task: VmExtractTask, dates: readonly string[], signal?: AbortSignal): Promise<Map<string, DateFreshness>> {
  const fresh = new Map<string, DateFreshness>();
  const range = isSeriesSelector(task.query) ? `${task.query.trim()}[1d]` : `(${task.query})[1d]`;
  const query = `union(label_set(max(tlast_over_time(${range})), "of", "newest"), label_set(sum(count_over_time(${range})), "of", "samples"))`;
  let next = 0;
  const worker = async () => {
    while (next < dates.length) {
      const date = dates[next++]!;
      const entry: DateFreshness = { newestMs: NaN, samples: 0 };
      for (const { metric, value } of await queryInstant(task.victoriametrics.url, query, dateMs(date) + DAY_MS - 1, signal)) {
        if (!value) continue;
        if (metric.of === 'newest') entry.newestMs = Math.round(Number(value[1]) * 1000);
        else if (metric.of === 'samples') entry.samples = Number(value[1]);
      }
      if (Number.isFinite(entry.newestMs)) fresh.set(date, entry);
    }
  };
  await Promise.all(Array.from({ length: Math.min(FRESHNESS_CONCURRENCY, dates.length) }, worker));
  return fresh;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function runExtract(run: PipelineRun<VmExtractTask>): Promise<PipelineOutcome> {
  const { task, signal, log } = run;
  const url = task.databaseUrl ?? run.databaseUrl;
  if (!url) throw new Error('vm-extract has no database: set task.database.url, or JOBSD_DATABASE_URL for jobsd exec');
  const window = extractWindow(run.nowMs, task.startDateOffsetDays);
  const chunkSize = Math.min(task.chunkSizeDays, MAX_OPEN_DATES);
  const pool = new pg.Pool({ connectionString: url, max: chunkSize + 1, application_name: `jobsd vm-extract ${run.jobId}` });
  pool.on('error', (err) => log.warn({ error: err.message }, 'vm-extract database connection error'));
  const processed: string[] = [];
  const failed: Array<{ date: string; error: string }> = [];
  let samplesRead = 0;
  let samplesWritten = 0;
  let newestBefore: number | undefined;
  let newestAfter: number | undefined;
  let behind: string[] = [];
  const fail = async (date: string, startedMs: number, error: string) => {
    failed.push({ date, error });
    await recordFailure(pool, { jobId: run.jobId, date, executionMs: run.nowMs, startedMs }, error).catch((err: unknown) =>
      log.warn({ business_date: date, error: message(err) }, 'could not record the failure in vm_extraction_jobs'),
    );
  };
  try {
    const client = await pool.connect();
    try {
      await ensureTables(client);
    } finally {
      client.release();
    }
    const planStarted = Date.now();
    // What was imported until now (a collect that has just ended) is made searchable where the server answers it.
    await forceFlush(task.victoriametrics.url, signal);
    // A date never extracted is read whatever its newest sample (an empty export costs little); only the
    // dates extracted before need the freshness query, whose cost grows with the number of series.
    const recorded = await recordedNewest(pool, run.jobId, window);
    const available = await freshnessPerDate(task, window.filter((d) => recorded.has(d)), signal);
    for (const r of recorded.values()) newestBefore = Math.max(r.newestMs, newestBefore ?? -Infinity);
    newestAfter = newestBefore;
    // Behind: never extracted, or VictoriaMetrics holds newer samples, or more of them (samples that arrived
    // late with an old timestamp). Fewer samples never replace rows: a partial answer must not shrink a date.
    // With `step`, extracted rows are query_range points, not samples: only timestamps are compared.
    behind = window.filter((d) => {
      const was = recorded.get(d);
      const now = available.get(d);
      if (!was) return true;
      if (!now) return false;
      return now.newestMs > was.newestMs || (task.stepMs === undefined && now.samples > was.samples);
    });
    log.info({ window: window.length, behind: behind.length, plan_ms: Date.now() - planStarted }, 'vm-extract plan');
    // Raw samples by blocks where the server says how it deduplicates (its /metrics), else merged by it.
    const dedup = task.stepMs === undefined && behind.length ? await dedupIntervalMs(task.victoriametrics.url, signal) : undefined;
    let mode: ExportMode = dedup === undefined ? { kind: 'merged' } : { kind: 'blocks', dedupIntervalMs: dedup };
    for (const chunk of chunks(behind, chunkSize)) {
      if (signal.aborted) break;
      const chunkStarted = Date.now();
      let writers: DateWriter[];
      try {
        try {
          writers = await readChunk(pool, task, mode, chunk, { jobId: run.jobId, executionMs: run.nowMs, signal });
        } catch (err) {
          if (!(err instanceof SeriesRevisited)) throw err;
          log.info({ dates: chunk, reason: err.message }, 'series in several blocks apart: reading merged exports from now on');
          mode = { kind: 'merged' };
          writers = await readChunk(pool, task, mode, chunk, { jobId: run.jobId, executionMs: run.nowMs, signal });
        }
        log.debug({ dates: chunk.length, read_ms: Date.now() - chunkStarted, export: mode.kind }, 'chunk read');
      } catch (err) {
        if (signal.aborted) break;
        const error = `reading ${chunk[0]}..${chunk[chunk.length - 1]} from VictoriaMetrics: ${message(err)}`;
        for (const date of chunk) await fail(date, chunkStarted, error);
        log.warn({ dates: chunk, error }, 'chunk failed; its dates keep their previous rows');
        continue;
      }
      for (const date of chunk) {
        if (recorded.has(date) && !writers.some((w) => w.date === date)) {
          log.warn({ business_date: date }, 'VictoriaMetrics reported newer samples for this date but exported none: left as it was');
        }
      }
      await Promise.all(
        writers.map(async (writer) => {
          samplesRead += writer.read;
          try {
            const written = await writer.commit();
            samplesWritten += written;
            processed.push(writer.date);
            newestAfter = Math.max(writer.newestMs, newestAfter ?? -Infinity);
            log.info({ business_date: writer.date, samples: writer.samples }, 'business date extracted');
          } catch (err) {
            const error = `${writer.date}: ${message(err)}`;
            await fail(writer.date, writer.startedMs, error);
            log.warn({ business_date: writer.date, error }, 'business date failed; its previous rows are kept');
          }
        }),
      );
    }
  } finally {
    await pool.end().catch(() => undefined);
  }
  processed.sort();
  failed.sort((a, b) => (a.date < b.date ? -1 : 1));

  const ok = failed.length === 0 && !signal.aborted;
  let statusError: string | undefined;
  await importLines(task.victoriametrics.url, [sampleLine(task.statusMetric, { job: run.jobId }, ok ? 1 : 0, Date.now())], AbortSignal.timeout(10_000)).catch(
    (err: unknown) => (statusError = `writing ${task.statusMetric}: ${message(err)}`),
  );
  const details = {
    window: window.length ? { from: window[0], to: window[window.length - 1] } : null,
    dates_processed: processed,
    dates_failed: failed,
    dates_skipped: window.filter((d) => !processed.includes(d) && !failed.some((f) => f.date === d)),
    samples_read: samplesRead,
    samples_written: samplesWritten,
    newest_extracted_before: newestBefore === undefined ? null : new Date(newestBefore).toISOString(),
    newest_extracted_after: newestAfter === undefined ? null : new Date(newestAfter).toISOString(),
  };
  const summary = `${processed.length} date(s) extracted (${samplesWritten} samples), ${failed.length} failed, ${details.dates_skipped.length} skipped (up to date, or no data)`;
  if (signal.aborted) return { aborted: true, message: summary, details };
  if (failed.length) {
    return { status: processed.length ? 'partial' : 'failed', message: summary, details, error: failed.map((f) => f.error).join('; ') };
  }
  if (statusError) return { status: 'failed', message: statusError, details };
  return { status: 'succeeded', message: summary, details };
}

// vm-extract (design §4): VictoriaMetrics series → PostgreSQL, one transaction per business date, only the
// dates where VictoriaMetrics holds newer samples than were extracted last time.
import pg from 'pg';
import type { VmExtractTask } from '../../definitions/types.ts';
import { chunks, dateMs, DAY_MS, extractWindow, formatDate } from './business-dates.ts';
import { copyNumber, copyText, createStage, ensureTables, recordedNewest, recordFailure, replaceDate, StageWriter } from './extract-store.ts';
import { sampleLine } from './prometheus-text.ts';
import type { PipelineOutcome, PipelineRun } from './run.ts';
import { exportSeries, importLines, queryInstant, queryRange, type ExportedSeries } from './vm-http.ts';

/** Freshness queries in flight at once. */
const FRESHNESS_CONCURRENCY = 4;

/**
 * The newest sample timestamp (ms) per business date of the window, as VictoriaMetrics holds it now: one
 * instant query per date, evaluated at the day's last millisecond with a 1d window, so that each query
 * touches only that day's series (a window-wide query_range would touch every series of every date and
 * hit -search.maxUniqueTimeseries sooner). Uncached, so backfilled samples show.
 */
export async function newestPerDate(task: VmExtractTask, dates: readonly string[], signal?: AbortSignal): Promise<Map<string, number>> {
  const newest = new Map<string, number>();
  const query = `max(tlast_over_time((${task.query})[1d]))`;
  let next = 0;
  const worker = async () => {
    while (next < dates.length) {
      const date = dates[next++]!;
      for (const { value } of await queryInstant(task.victoriametrics.url, query, dateMs(date) + DAY_MS - 1, signal)) {
        const ms = value ? Math.round(Number(value[1]) * 1000) : NaN;
        if (Number.isFinite(ms)) newest.set(date, ms);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(FRESHNESS_CONCURRENCY, dates.length) }, worker));
  return newest;
}

interface SeriesSource {
  (from: number, to: number): AsyncIterable<ExportedSeries>;
}

/** Raw samples through /api/v1/export (streamed), or query_range at the configured step. */
function seriesSource(task: VmExtractTask, signal: AbortSignal): SeriesSource {
  if (task.stepMs === undefined) return (from, to) => exportSeries(task.victoriametrics.url, task.query, from, to, signal);
  const stepMs = task.stepMs;
  return async function* (from, to) {
    for (const s of await queryRange(task.victoriametrics.url, task.query, from, to, stepMs, signal)) {
      yield { metric: s.metric, values: s.values.map(([, v]) => Number(v)), timestamps: s.values.map(([t]) => Math.round(t * 1000)) };
    }
  };
}

interface StagedDate {
  samples: number;
  newestMs: number;
}

/** Streams one chunk's series into the staging table; returns what was staged per date of the chunk. */
async function stageChunk(client: pg.ClientBase, source: SeriesSource, dates: readonly string[]): Promise<Map<string, StagedDate>> {
  const wanted = new Set(dates);
  const staged = new Map<string, StagedDate>();
  const from = dateMs(dates[0]!);
  const to = dateMs(dates[dates.length - 1]!) + DAY_MS - 1;
  await createStage(client);
  const writer = await StageWriter.open(client);
  try {
    let dayNumber = NaN;
    let day = '';
    for await (const series of source(from, to)) {
      const { __name__: name = '', ...labels } = series.metric;
      const fixed = `\t${copyText(labels.audit_id)}\t${copyText(name)}\t${copyText(JSON.stringify(labels))}\t`;
      const { values, timestamps } = series;
      for (let i = 0; i < timestamps.length; i++) {
        const ts = timestamps[i]!;
        const n = Math.floor(ts / DAY_MS);
        if (n !== dayNumber) {
          dayNumber = n;
          day = formatDate(n * DAY_MS);
        }
        if (!wanted.has(day)) continue;
        let entry = staged.get(day);
        if (!entry) staged.set(day, (entry = { samples: 0, newestMs: ts }));
        entry.samples++;
        if (ts > entry.newestMs) entry.newestMs = ts;
        if (writer.push(`${day}${fixed}${copyNumber(values[i]!)}\t${ts}\n`)) await writer.flush();
      }
    }
    await writer.end();
    return staged;
  } catch (err) {
    writer.abort(err as Error);
    throw err;
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

export async function runExtract(run: PipelineRun<VmExtractTask>): Promise<PipelineOutcome> {
  const { task, signal, log } = run;
  const url = task.databaseUrl ?? run.databaseUrl;
  if (!url) throw new Error('vm-extract has no database: set task.database.url, or JOBSD_DATABASE_URL for jobsd exec');
  const window = extractWindow(run.nowMs, task.startDateOffsetDays);
  const client = new pg.Client({ connectionString: url, application_name: `jobsd vm-extract ${run.jobId}` });
  client.on('error', (err) => log.warn({ error: err.message }, 'vm-extract database connection error'));
  await client.connect();
  const processed: string[] = [];
  const failed: Array<{ date: string; error: string }> = [];
  let samplesRead = 0;
  let samplesWritten = 0;
  let newestBefore: number | undefined;
  let newestAfter: number | undefined;
  let behind: string[] = [];
  try {
    await ensureTables(client);
    const [available, recorded] = await Promise.all([newestPerDate(task, window, signal), recordedNewest(client, run.jobId, window)]);
    for (const ms of recorded.values()) newestBefore = Math.max(ms, newestBefore ?? -Infinity);
    newestAfter = newestBefore;
    behind = window.filter((d) => available.has(d) && !(available.get(d)! <= (recorded.get(d) ?? -Infinity)));
    log.info({ window: window.length, behind: behind.length }, 'vm-extract plan');
    const source = seriesSource(task, signal);
    for (const chunk of chunks(behind, task.chunkSizeDays)) {
      if (signal.aborted) break;
      const chunkStarted = Date.now();
      let staged: Map<string, StagedDate>;
      try {
        staged = await stageChunk(client, source, chunk);
      } catch (err) {
        if (signal.aborted) break;
        const error = `reading ${chunk[0]}..${chunk[chunk.length - 1]} from VictoriaMetrics: ${message(err)}`;
        for (const date of chunk) {
          failed.push({ date, error });
          await recordFailure(client, { jobId: run.jobId, date, executionMs: run.nowMs, startedMs: chunkStarted }, error);
        }
        log.warn({ dates: chunk, error }, 'chunk failed');
        continue;
      }
      for (const date of chunk) {
        const entry = staged.get(date);
        if (!entry) {
          log.warn({ business_date: date }, 'VictoriaMetrics reported newer samples for this date but exported none: left as it was');
          continue;
        }
        samplesRead += entry.samples;
        const startedMs = Date.now();
        try {
          samplesWritten += await replaceDate(client, { jobId: run.jobId, date, executionMs: run.nowMs, startedMs, newestMs: entry.newestMs });
          processed.push(date);
          newestAfter = Math.max(entry.newestMs, newestAfter ?? -Infinity);
          log.info({ business_date: date, samples: entry.samples }, 'business date extracted');
        } catch (err) {
          const error = `${date}: ${message(err)}`;
          failed.push({ date, error });
          await recordFailure(client, { jobId: run.jobId, date, executionMs: run.nowMs, startedMs }, error);
          log.warn({ business_date: date, error }, 'business date failed; its previous rows are kept');
        }
      }
    }
  } finally {
    await client.end().catch(() => undefined);
  }

  const ok = failed.length === 0 && !signal.aborted;
  let statusError: string | undefined;
  await importLines(task.victoriametrics.url, [sampleLine(task.statusMetric, { job: run.jobId }, ok ? 1 : 0, Date.now())], AbortSignal.timeout(10_000)).catch(
    (err: unknown) => (statusError = `writing ${task.statusMetric}: ${message(err)}`),
  );
  const details = {
    window: window.length ? { from: window[0], to: window[window.length - 1] } : null,
    dates_processed: processed,
    dates_failed: failed,
    dates_skipped: window.filter((d) => !behind.includes(d)),
    samples_read: samplesRead,
    samples_written: samplesWritten,
    newest_extracted_before: newestBefore === undefined ? null : new Date(newestBefore).toISOString(),
    newest_extracted_after: newestAfter === undefined ? null : new Date(newestAfter).toISOString(),
  };
  const summary = `${processed.length} date(s) extracted (${samplesWritten} samples), ${failed.length} failed, ${details.dates_skipped.length} up to date`;
  if (signal.aborted) return { aborted: true, message: summary, details };
  if (failed.length) {
    return { status: processed.length ? 'partial' : 'failed', message: summary, details, error: failed.map((f) => f.error).join('; ') };
  }
  if (statusError) return { status: 'failed', message: statusError, details };
  return { status: 'succeeded', message: summary, details };
}

// vm-collect (design §4): a REST source → VictoriaMetrics, one business date at a time, behind a watermark.
import type { VmCollectTask } from '../../definitions/types.ts';
import { advanceWatermark, collectPlan, dateMs, DAY_MS, formatDate } from './business-dates.ts';
import { formatLabels, MalformedRecord, recordsOf, recordsToLines, sampleLine, type Labels } from './prometheus-text.ts';
import type { PipelineOutcome, PipelineRun } from './types.ts';
import { exportSeries, getText, importLines } from './vm-http.ts';

/** Lines per POST to /api/v1/import/prometheus (about 1 MB). */
export const IMPORT_BATCH_LINES = 10_000;
/** Import requests in flight at once: VictoriaMetrics ingests on several cores. */
const IMPORT_CONCURRENCY = 2;

/** The metric that marks a business date after the watermark as imported (a later gap can hold the watermark back). */
export function importedMetric(task: VmCollectTask): string {
  return `${task.watermark.metric}_imported`;
}

/** A series selector matching exactly these labels: `name{a="1",b="2"}`. */
export function selector(name: string, labels: Labels): string {
  return `${name}${formatLabels(labels)}`;
}

/** The watermark: the business date of the newest sample of the watermark gauge, read from raw samples. */
export async function readWatermark(task: VmCollectTask, signal?: AbortSignal): Promise<string | undefined> {
  let newest: { ts: number; value: number } | undefined;
  for await (const series of exportSeries(task.victoriametrics.url, selector(task.watermark.metric, task.labels), 0, Date.now() + DAY_MS, signal)) {
    series.timestamps.forEach((ts, i) => {
      const value = series.values[i]!;
      if (Number.isFinite(value) && (!newest || ts > newest.ts)) newest = { ts, value };
    });
  }
  return newest ? formatDate(newest.value * 1000) : undefined;
}

/** The dates among `dates` already imported by an earlier run (their marker sample is in VictoriaMetrics). */
async function importedDates(task: VmCollectTask, dates: readonly string[], signal?: AbortSignal): Promise<Set<string>> {
  const done = new Set<string>();
  if (dates.length === 0) return done;
  const from = dateMs(dates[0]!);
  const to = dateMs(dates[dates.length - 1]!) + DAY_MS - 1;
  for await (const series of exportSeries(task.victoriametrics.url, selector(importedMetric(task), task.labels), from, to, signal)) {
    for (const ts of series.timestamps) done.add(formatDate(ts));
  }
  return done;
}

/** Fetches one date from the source and turns its records into sample lines; nothing is imported yet. */
async function sourceLines(run: PipelineRun<VmCollectTask>, date: string): Promise<{ lines: string[]; records: number }> {
  const { task, signal } = run;
  const url = new URL(task.source.url);
  url.searchParams.set(task.source.dateParam, date);
  const headers: Record<string, string> = task.source.token ? { authorization: `Bearer ${task.source.token}` } : {};
  const text = await getText(url, { headers, timeoutMs: task.source.timeoutMs, signal, ...(run.retryDelaysMs ? { retryDelaysMs: run.retryDelaysMs } : {}) });
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch (err) {
    throw new MalformedRecord(`the source answered with malformed JSON (${(err as Error).message})`);
  }
  const records = recordsOf(body);
  if (!records) throw new MalformedRecord('the source answered with neither an array of records nor an object holding one under data, records, items or results');
  const lines = recordsToLines(records, date, dateMs(date), { prefix: task.metricPrefix, labelFields: task.labelFields, labels: task.labels });
  return { lines, records: records.length };
}

type Prepared = { ok: true; value: { lines: string[]; records: number } } | { ok: false; error: unknown };

/** A promise that never rejects, so a prefetch can wait unobserved. */
function settle<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return promise.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/**
 * Imports in batches of IMPORT_BATCH_LINES, IMPORT_CONCURRENCY requests at a time; `written` counts each
 * batch. When one batch fails, the others of the date are aborted and waited for, so nothing of a failed
 * date is still being posted while the next date is imported.
 */
async function importConcurrently(vm: string, lines: readonly string[], signal: AbortSignal, written: (n: number) => void): Promise<void> {
  const failed = new AbortController();
  const both = AbortSignal.any([signal, failed.signal]);
  let next = 0;
  const worker = async () => {
    while (next < lines.length && !both.aborted) {
      const batch = lines.slice(next, (next += IMPORT_BATCH_LINES));
      try {
        await importLines(vm, batch, both);
      } catch (err) {
        failed.abort(err);
        throw err;
      }
      written(batch.length);
    }
  };
  const results = await Promise.allSettled(Array.from({ length: IMPORT_CONCURRENCY }, worker));
  const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (rejected) throw failed.signal.reason ?? rejected.reason;
}

interface DateOutcome {
  date: string;
  ok: boolean;
  skipped?: boolean;
  error?: string;
}

export async function runCollect(run: PipelineRun<VmCollectTask>): Promise<PipelineOutcome> {
  const { task, signal, log } = run;
  const vm = task.victoriametrics.url;
  const before = await readWatermark(task, signal);
  const plan = collectPlan(before, task.watermark.startDate, task.slidingWindowDays, run.nowMs);
  const reprocessed = new Set(plan.reprocessed);
  const done = await importedDates(task, plan.dates.filter((d) => !reprocessed.has(d)), signal);
  log.info({ watermark: before ?? null, dates: plan.dates.length, already_imported: done.size }, 'vm-collect plan');

  const outcomes: DateOutcome[] = [];
  let recordsRead = 0;
  let samplesRead = 0;
  let samplesWritten = 0;
  // The next date's source is fetched and converted while the current one is imported.
  const toFetch = plan.dates.filter((d) => !done.has(d) || reprocessed.has(d));
  const prepared = new Map<string, Promise<Prepared>>();
  const prepare = (date: string | undefined) => {
    if (date !== undefined && !prepared.has(date)) prepared.set(date, settle(sourceLines(run, date)));
  };
  for (const date of plan.dates) {
    if (signal.aborted) break;
    if (!toFetch.includes(date)) {
      outcomes.push({ date, ok: true, skipped: true });
      continue;
    }
    prepare(date);
    const source = await prepared.get(date)!;
    prepared.delete(date);
    prepare(toFetch[toFetch.indexOf(date) + 1]);
    try {
      if (!source.ok) throw source.error;
      const { lines, records } = source.value;
      recordsRead += records;
      samplesRead += lines.length;
      await importConcurrently(vm, lines, signal, (n) => (samplesWritten += n));
      // The marker goes after every sample of the date is in: it is written only when they all were.
      await importLines(vm, [sampleLine(importedMetric(task), { business_date: date, ...task.labels }, Math.floor(run.nowMs / 1000), dateMs(date))], signal);
      outcomes.push({ date, ok: true });
      log.info({ business_date: date, records, samples: lines.length }, 'business date imported');
    } catch (err) {
      if (signal.aborted) break;
      const error = `${date}: ${err instanceof Error ? err.message : String(err)}`;
      outcomes.push({ date, ok: false, error });
      log.warn({ business_date: date, error }, 'business date failed');
    }
  }
  await Promise.all(prepared.values()); // a prefetch left behind by a cancellation

  const after = advanceWatermark(before, outcomes);
  const failed = outcomes.filter((o) => !o.ok);
  const ok = failed.length === 0 && !signal.aborted;
  const nowMs = Date.now();
  const closing = [sampleLine(task.statusMetric, task.labels, ok ? 1 : 0, nowMs)];
  if (after !== undefined) closing.push(sampleLine(task.watermark.metric, task.labels, dateMs(after) / 1000, nowMs));
  let closingError: string | undefined;
  // Written even after a cancellation, so the dates done so far count: a short timeout of its own.
  await importLines(vm, closing, AbortSignal.timeout(10_000)).catch((err: unknown) => {
    closingError = `writing the watermark and ${task.statusMetric}: ${err instanceof Error ? err.message : String(err)}`;
  });

  const details = {
    watermark_before: before ?? null,
    watermark_after: after ?? null,
    dates_processed: outcomes.filter((o) => o.ok && !o.skipped).map((o) => o.date),
    dates_failed: failed.map((o) => ({ date: o.date, error: o.error })),
    dates_skipped: outcomes.filter((o) => o.skipped).map((o) => o.date),
    dates_not_reached: plan.dates.slice(outcomes.length),
    records_read: recordsRead,
    samples_read: samplesRead,
    samples_written: samplesWritten,
  };
  const succeeded = outcomes.filter((o) => o.ok).length;
  const summary = `${details.dates_processed.length} date(s) imported, ${failed.length} failed, ${details.dates_skipped.length} already imported; watermark ${before ?? 'none'} → ${after ?? 'none'}`;
  if (signal.aborted) return { aborted: true, message: summary, details };
  if (closingError) return { status: 'failed', message: closingError, details };
  if (plan.dates.length === 0) return { status: 'succeeded', message: `up to date: watermark ${before}`, details };
  if (failed.length === 0) return { status: 'succeeded', message: summary, details };
  return {
    status: succeeded > 0 ? 'partial' : 'failed',
    message: summary,
    details,
    error: failed.map((o) => o.error).join('; '),
  };
}


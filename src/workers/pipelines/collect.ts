// vm-collect (design §4): a REST source → VictoriaMetrics, one business date at a time, behind a watermark.
import type { VmCollectTask } from '../../definitions/types.ts';
import { advanceWatermark, collectPlan, dateMs } from './business-dates.ts';
import { awaitOwnWrites, importedDates, markerLine, readWatermark, VISIBILITY_WAIT_MS, type Visibility } from './collect-state.ts';
import { MalformedRecord, recordsOf, recordsToLines, sampleLine } from './prometheus-text.ts';
import type { PipelineOutcome, PipelineRun } from './types.ts';
import { forceFlush, getText, importLines } from './vm-http.ts';

/** Lines per POST to /api/v1/import/prometheus (about 1 MB). */
export const IMPORT_BATCH_LINES = 10_000;
/** Import requests in flight at once: VictoriaMetrics ingests on several cores. */
const IMPORT_CONCURRENCY = 2;

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
  // An earlier run that ended without its writes showing (cancelled, or a server without force_flush) is
  // made visible first where the server answers it; the state is then read from raw samples.
  await forceFlush(vm, signal);
  const state = await readWatermark(task, signal);
  const before = state.watermark;
  const plan = collectPlan(before, task.watermark.startDate, task.slidingWindowDays, run.nowMs);
  const reprocessed = new Set(plan.reprocessed);
  const done = await importedDates(task, plan.dates.filter((d) => !reprocessed.has(d)), state.movedBackAtMs, signal);
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
      await importLines(vm, [markerLine(task, date, Date.now())], signal);
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
  const imported = outcomes.filter((o) => o.ok && !o.skipped).map((o) => o.date);
  // Read-your-writes: the next run (a retry, a manual run, the next fire of `overlap: queue`) may start at
  // once, and must plan from this run's watermark and markers. A cancelled run gets a short wait of its own.
  let visibility: Visibility | undefined;
  if (!closingError) {
    const waitSignal = signal.aborted ? AbortSignal.timeout(5_000) : AbortSignal.any([signal, AbortSignal.timeout(run.visibilityWaitMs ?? VISIBILITY_WAIT_MS)]);
    visibility = await awaitOwnWrites(task, { watermark: after, dates: imported }, run.visibilityWaitMs ?? VISIBILITY_WAIT_MS, waitSignal);
    if (!visibility.state_visible) {
      log.warn({ ...visibility }, 'the watermark and markers written did not show in VictoriaMetrics in time: a run started now could import those dates again');
    }
  }

  const details = {
    watermark_before: before ?? null,
    watermark_after: after ?? null,
    dates_processed: imported,
    dates_failed: failed.map((o) => ({ date: o.date, error: o.error })),
    dates_skipped: outcomes.filter((o) => o.skipped).map((o) => o.date),
    dates_not_reached: plan.dates.slice(outcomes.length),
    records_read: recordsRead,
    samples_read: samplesRead,
    samples_written: samplesWritten,
    ...visibility,
  };
  const succeeded = outcomes.filter((o) => o.ok).length;
  const unseen = visibility?.state_visible === false ? `; the watermark did not show in VictoriaMetrics within ${visibility.state_visible_ms} ms (a run started now could import again)` : '';
  const summary = `${details.dates_processed.length} date(s) imported, ${failed.length} failed, ${details.dates_skipped.length} already imported; watermark ${before ?? 'none'} → ${after ?? 'none'}${unseen}`;
  if (signal.aborted) return { aborted: true, message: summary, details };
  if (closingError) return { status: 'failed', message: closingError, details };
  if (plan.dates.length === 0) return { status: 'succeeded', message: `up to date: watermark ${before}${unseen}`, details };
  if (failed.length === 0) return { status: 'succeeded', message: summary, details };
  return {
    status: succeeded > 0 ? 'partial' : 'failed',
    message: summary,
    details,
    error: failed.map((o) => o.error).join('; '),
  };
}


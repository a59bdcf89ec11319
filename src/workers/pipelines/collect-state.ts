// vm-collect's own state, kept in VictoriaMetrics: the watermark gauge and the per-date markers. Read from
// raw samples; after a run writes it, read back until VictoriaMetrics shows it (read-your-writes), so that the
// next run, however soon it starts, plans from it (docs/pipelines.md, "When a write shows").
import { setTimeout as sleep } from 'node:timers/promises';
import type { VmCollectTask } from '../../definitions/types.ts';
import { dateMs, DAY_MS, formatDate } from './business-dates.ts';
import { formatLabels, sampleLine, type Labels } from './prometheus-text.ts';
import { exportSeries, forceFlush } from './vm-http.ts';

/** How long a run waits for its own state to show before it reports that it did not. */
export const VISIBILITY_WAIT_MS = 30_000;
const READ_BACK_INTERVAL_MS = 250;

/** The metric that marks a business date after the watermark as imported (a later gap can hold the watermark back). */
export function importedMetric(task: VmCollectTask): string {
  return `${task.watermark.metric}_imported`;
}

/** A series selector matching exactly these labels: `name{a="1",b="2"}`. */
export function selector(name: string, labels: Labels): string {
  return `${name}${formatLabels(labels)}`;
}

export interface WatermarkState {
  /** The business date of the newest sample of the gauge. */
  watermark: string | undefined;
  /**
   * When an operator moved the gauge back (the newest sample lower than the one before it; the collector
   * itself never writes a lower value than the one it read): markers written before then do not count, so
   * that the dates after the moved-back watermark are imported again (a backfill).
   */
  movedBackAtMs: number | undefined;
}

/** The state that the gauge's raw samples say (pure). */
export function watermarkOf(samples: ReadonlyArray<{ ts: number; value: number }>): WatermarkState {
  const finite = samples.filter((s) => Number.isFinite(s.value)).sort((a, b) => a.ts - b.ts);
  const newest = finite.at(-1);
  let movedBackAtMs: number | undefined;
  for (let i = finite.length - 1; i > 0 && movedBackAtMs === undefined; i--) {
    if (finite[i]!.value < finite[i - 1]!.value) movedBackAtMs = finite[i]!.ts;
  }
  return { watermark: newest ? formatDate(newest.value * 1000) : undefined, movedBackAtMs };
}

export async function readWatermark(task: VmCollectTask, signal?: AbortSignal): Promise<WatermarkState> {
  const samples: Array<{ ts: number; value: number }> = [];
  for await (const series of exportSeries(task.victoriametrics.url, selector(task.watermark.metric, task.labels), 0, Date.now() + DAY_MS, signal)) {
    series.timestamps.forEach((ts, i) => samples.push({ ts, value: series.values[i]! }));
  }
  return watermarkOf(samples);
}

/** The marker of one imported date: at the date's 00:00, its value the Unix time (seconds) it was written. */
export function markerLine(task: VmCollectTask, date: string, writtenMs: number): string {
  return sampleLine(importedMetric(task), { business_date: date, ...task.labels }, writtenMs / 1000, dateMs(date));
}

/** The dates among `dates` already imported by an earlier run: a marker of theirs written since any move-back. */
export async function importedDates(task: VmCollectTask, dates: readonly string[], movedBackAtMs: number | undefined, signal?: AbortSignal): Promise<Set<string>> {
  const done = new Set<string>();
  if (dates.length === 0) return done;
  const from = dateMs(dates[0]!);
  const to = dateMs(dates[dates.length - 1]!) + DAY_MS - 1;
  for await (const series of exportSeries(task.victoriametrics.url, selector(importedMetric(task), task.labels), from, to, signal)) {
    series.timestamps.forEach((ts, i) => {
      if (movedBackAtMs === undefined || series.values[i]! * 1000 >= movedBackAtMs) done.add(formatDate(ts));
    });
  }
  return done;
}

export interface Visibility {
  /** Whether the watermark and markers written showed within the wait. */
  state_visible: boolean;
  /** From the end of the writes to the read that showed them (or to giving up). */
  state_visible_ms: number;
  /** Whether VictoriaMetrics answered /internal/force_flush, and why not. */
  force_flush: string;
}

/**
 * Makes the run's writes visible before the run ends: /internal/force_flush where the server answers it,
 * then the watermark and the markers of `dates` read back until they show, at most `waitMs`.
 */
export async function awaitOwnWrites(
  task: VmCollectTask,
  expected: { watermark: string | undefined; dates: readonly string[] },
  waitMs: number,
  signal: AbortSignal,
): Promise<Visibility> {
  const started = Date.now();
  const flushed = await forceFlush(task.victoriametrics.url, signal);
  const force_flush = flushed.answered ? 'answered' : `not answered (${flushed.reason})`;
  const sorted = [...expected.dates].sort();
  const shows = async () => {
    const state = await readWatermark(task, signal);
    if (expected.watermark !== undefined && state.watermark !== expected.watermark) return false;
    const marked = await importedDates(task, sorted, state.movedBackAtMs, signal);
    return sorted.every((d) => marked.has(d));
  };
  for (;;) {
    const visible = await shows().catch(() => false);
    if (visible || signal.aborted || Date.now() - started >= waitMs) return { state_visible: visible, state_visible_ms: Date.now() - started, force_flush };
    await sleep(READ_BACK_INTERVAL_MS, undefined, { signal }).catch(() => undefined);
  }
}

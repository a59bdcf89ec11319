// vm-extract's read: the series of a chunk of dates from VictoriaMetrics, each whole, streamed straight into
// the dates' COPY writers (extract-store.ts).
import type pg from 'pg';
import type { VmExtractTask } from '../../definitions/types.ts';
import { dateMs, DAY_MS, formatDate } from './business-dates.ts';
import { copyText, DateWriter } from './extract-store.ts';
import { hash53, mergeSamples, splitExportLine, type ExportLine } from './export-lines.ts';
import { exportLines, queryRange } from './vm-http.ts';

/** One series of a chunk, whole: its samples sorted by time. */
export interface Series {
  name: string;
  labelsJson: string;
  auditId: string | undefined;
  values: string[];
  timestamps: number[];
}

export type SeriesSource = (from: number, to: number) => AsyncIterable<Series>;

/** A reduce_mem_usage export sent a series again after others: its blocks cannot be merged on the fly. */
export class SeriesRevisited extends Error {}

/**
 * How a run reads raw samples. `blocks`: /api/v1/export?reduce_mem_usage=1, the blocks of one series merged
 * here and deduplicated as the server would (its -dedup.minScrapeInterval, read from its /metrics); a series
 * whose blocks do not come next to each other throws SeriesRevisited, and the chunk is read again `merged`.
 * `merged`: the plain export, each series merged by VictoriaMetrics.
 */
export type ExportMode = { kind: 'blocks'; dedupIntervalMs: number } | { kind: 'merged' };

export function seriesSource(task: VmExtractTask, mode: ExportMode, signal: AbortSignal): SeriesSource {
  const vm = task.victoriametrics.url;
  if (task.stepMs !== undefined) {
    const stepMs = task.stepMs;
    return async function* (from, to) {
      for (const s of await queryRange(vm, task.query, from, to, stepMs, signal)) {
        const { __name__: name = '', ...labels } = s.metric;
        const values = s.values.map(([, v]) => (v === '+Inf' ? 'Infinity' : v === '-Inf' ? '-Infinity' : v));
        yield { name, labelsJson: JSON.stringify(labels), auditId: labels.audit_id, values, timestamps: s.values.map(([t]) => Math.round(t * 1000)) };
      }
    };
  }
  if (mode.kind === 'merged') {
    return async function* (from, to) {
      for await (const line of exportLines(vm, task.query, from, to, { reduceMemUsage: false }, signal)) yield splitExportLine(line);
    };
  }
  return async function* (from, to) {
    const passed = new Set<number>();
    let group: ExportLine[] = [];
    const whole = (): Series => {
      const { name, labelsJson, auditId } = group[0]!;
      return { name, labelsJson, auditId, ...mergeSamples(group, mode.dedupIntervalMs) };
    };
    for await (const text of exportLines(vm, task.query, from, to, { reduceMemUsage: true }, signal)) {
      const line = splitExportLine(text);
      if (group.length && line.key === group[0]!.key) {
        group.push(line);
        continue;
      }
      if (group.length) {
        yield whole();
        passed.add(hash53(group[0]!.key));
      }
      if (passed.has(hash53(line.key))) throw new SeriesRevisited(`series ${line.key} came again after others`);
      group = [line];
    }
    if (group.length) yield whole();
  };
}

/**
 * Dates whose transactions one chunk holds open at once: one connection each. A larger chunk_size_days is
 * read in requests of this many dates.
 */
export const MAX_OPEN_DATES = 8;

/**
 * Streams one chunk from VictoriaMetrics straight into PostgreSQL: each sample goes to its date's writer
 * (a transaction of its own, opened at the date's first sample), so the export is read once, never held,
 * and the dates are written in parallel. One row per (series, timestamp): of samples VictoriaMetrics holds
 * twice (imported twice with no -dedup.minScrapeInterval), the last. Returns the writers, still
 * uncommitted; throws when the read fails (after rolling every writer back).
 */
export async function readChunk(pool: pg.Pool, source: SeriesSource, dates: readonly string[], jobId: string, executionMs: number): Promise<DateWriter[]> {
  const wanted = new Set(dates);
  const opening = new Map<string, Promise<DateWriter>>();
  const open = new Map<string, DateWriter>();
  const from = dateMs(dates[0]!);
  const to = dateMs(dates[dates.length - 1]!) + DAY_MS - 1;
  try {
    const days = new Map<number, string>();
    let isoMs = NaN;
    let iso = '';
    for await (const series of source(from, to)) {
      const fixed = `\t${copyText(series.auditId)}\t${copyText(series.name)}\t${copyText(series.labelsJson)}\t`;
      const { values, timestamps } = series;
      for (let i = 0; i < timestamps.length; i++) {
        const ts = timestamps[i]!;
        const n = Math.floor(ts / DAY_MS);
        let day = days.get(n);
        if (day === undefined) days.set(n, (day = formatDate(n * DAY_MS)));
        if (!wanted.has(day)) continue;
        let writer = open.get(day);
        if (!writer) {
          let pending = opening.get(day);
          if (!pending) opening.set(day, (pending = DateWriter.open(pool, day, jobId, executionMs)));
          open.set(day, (writer = await pending));
        }
        writer.read++;
        if (timestamps[i + 1] === ts) continue; // the same sample again: the last one is written
        writer.samples++;
        if (ts > writer.newestMs) writer.newestMs = ts;
        if (ts !== isoMs) iso = new Date((isoMs = ts)).toISOString();
        if (writer.push(`${day}${fixed}${values[i]!}\t${iso}`)) await writer.flush();
      }
    }
    return await Promise.all(opening.values());
  } catch (err) {
    for (const pending of opening.values()) {
      await pending.then(async (w) => {
        await w.rollback();
        w.release();
      }, () => undefined);
    }
    throw err;
  }
}

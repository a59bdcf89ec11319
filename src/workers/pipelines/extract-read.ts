// vm-extract's read: the series of a chunk of dates from VictoriaMetrics, each whole, streamed straight into
// the dates' binary COPY writers (extract-store.ts). Export lines become samples in export-rows.ts.
import type pg from 'pg';
import type { VmExtractTask } from '../../definitions/types.ts';
import { dateMs, DAY_MS } from './business-dates.ts';
import { seriesFields } from './copy-binary.ts';
import { DateWriter } from './extract-store.ts';
import { LineSplitter } from './export-bytes.ts';
import { parseValue } from './export-lines.ts';
import { ExportRows, type SampleSink } from './export-rows.ts';
import { exportBody, queryRange } from './vm-http.ts';

/**
 * How a run reads raw samples. `blocks`: /api/v1/export?reduce_mem_usage=1, the blocks of one series merged
 * here and deduplicated as the server would (its -dedup.minScrapeInterval, read from its /metrics); a series
 * whose blocks do not come next to each other throws SeriesRevisited, and the chunk is read again `merged`.
 * `merged`: the plain export, each series merged by VictoriaMetrics.
 */
export type ExportMode = { kind: 'blocks'; dedupIntervalMs: number } | { kind: 'merged' };

/**
 * Dates whose transactions one chunk holds open at once: one connection each. A larger chunk_size_days is
 * read in requests of this many dates.
 */
export const MAX_OPEN_DATES = 8;

/** The chunk's writers by date, and the one place samples go through: one row per (series, timestamp). */
class ChunkSink implements SampleSink {
  private readonly byDay = new Map<number, DateWriter | null>();
  /** The day of the last sample, and its writer: the next sample is most often of the same day. */
  private lastDay = NaN;
  private lastWriter: DateWriter | null = null;

  constructor(writers: readonly DateWriter[]) {
    for (const w of writers) this.byDay.set(dateMs(w.date) / DAY_MS, w);
  }

  private writer(timestampMs: number): DateWriter | null {
    const day = Math.floor(timestampMs / DAY_MS);
    if (day === this.lastDay) return this.lastWriter;
    let writer = this.byDay.get(day);
    if (writer === undefined) this.byDay.set(day, (writer = null));
    this.lastDay = day;
    return (this.lastWriter = writer);
  }

  /** Samples sorted by time; of a sample held twice (imported twice, no dedup), the last is written. */
  series(fields: Buffer, values: readonly number[], timestamps: readonly number[]): void {
    for (let i = 0; i < timestamps.length; i++) {
      const ts = timestamps[i]!;
      const writer = this.writer(ts);
      if (writer === null) continue;
      writer.read++;
      if (timestamps[i + 1] === ts) continue;
      writer.add(fields, values[i]!, ts);
    }
  }

  sample(src: Buffer, nameStart: number, nameEnd: number, labelsStart: number, labelsEnd: number, value: number, timestampMs: number): void {
    const writer = this.writer(timestampMs);
    if (writer === null) return;
    writer.read++;
    writer.addBytes(src, nameStart, nameEnd, labelsStart, labelsEnd, value, timestampMs);
  }

  /** Hands what was buffered to PostgreSQL, waiting where a date's connection is behind (bounded memory). */
  async drain(): Promise<void> {
    for (const w of this.byDay.values()) if (w) await w.flush();
  }
}

/** The lines of one export into the sink (export-rows.ts). */
async function readExport(task: VmExtractTask, mode: ExportMode, from: number, to: number, sink: ChunkSink, signal: AbortSignal): Promise<void> {
  const rows = new ExportRows(sink, { blocks: mode.kind === 'blocks', dedupIntervalMs: mode.kind === 'blocks' ? mode.dedupIntervalMs : 0 });
  const each = (buf: Buffer, start: number, end: number) => rows.line(buf, start, end);
  const lines = new LineSplitter();
  for await (const chunk of exportBody(task.victoriametrics.url, task.query, from, to, { reduceMemUsage: mode.kind === 'blocks' }, signal)) {
    lines.push(chunk, each);
    await sink.drain();
  }
  lines.end(each);
  rows.end();
}

/**
 * Export requests in flight for one chunk, each over consecutive dates of it. VictoriaMetrics serves one
 * request's series lookups on one core, and on series it has not read since they were written (an extract
 * after its collect) those lookups are most of its cost: two requests use both cores of a small machine.
 */
const EXPORTS_IN_FLIGHT = 2;

/** The chunk's dates in requests in flight together, into one sink (their days do not overlap). */
async function readExports(task: VmExtractTask, mode: ExportMode, dates: readonly string[], sink: ChunkSink, signal: AbortSignal): Promise<void> {
  const parts = Math.min(EXPORTS_IN_FLIGHT, dates.length);
  const size = Math.ceil(dates.length / parts);
  const stop = new AbortController();
  const both = AbortSignal.any([signal, stop.signal]);
  let first: unknown;
  const reads = Array.from({ length: parts }, (_, i) => dates.slice(i * size, (i + 1) * size)).map((part) =>
    readExport(task, mode, dateMs(part[0]!), dateMs(part[part.length - 1]!) + DAY_MS - 1, sink, both).catch((err: unknown) => {
      if (first === undefined) first = err ?? new Error('export failed');
      stop.abort(); // the other requests are of no use once one failed: the chunk is read again or failed whole
    }),
  );
  await Promise.all(reads);
  if (first !== undefined) throw first;
}

/** query_range at the task's step: points, not samples (its JSON answer is held per chunk). */
async function readRange(task: VmExtractTask, stepMs: number, from: number, to: number, sink: ChunkSink, signal: AbortSignal): Promise<void> {
  for (const s of await queryRange(task.victoriametrics.url, task.query, from, to, stepMs, signal)) {
    const { __name__: name = '', ...labels } = s.metric;
    const values = s.values.map(([, v]) => parseValue(v));
    sink.series(seriesFields(labels.audit_id, name, JSON.stringify(labels)), values, s.values.map(([t]) => Math.round(t * 1000)));
    await sink.drain();
  }
}

/**
 * Streams one chunk from VictoriaMetrics straight into PostgreSQL: every date of the chunk has its writer
 * (a transaction of its own), each sample goes to its date's, so the export is read once, never held, and
 * the dates are written in parallel. Returns the writers of the dates that got samples, still uncommitted
 * (the others are rolled back: an empty answer never replaces rows); throws when the read fails (after
 * rolling every writer back).
 */
export async function readChunk(pool: pg.Pool, task: VmExtractTask, mode: ExportMode, dates: readonly string[], run: { jobId: string; executionMs: number; signal: AbortSignal }): Promise<DateWriter[]> {
  const opened = await Promise.allSettled(dates.map((d) => DateWriter.open(pool, d, run.jobId, run.executionMs)));
  const writers = opened.flatMap((o) => (o.status === 'fulfilled' ? [o.value] : []));
  const abandon = async (list: readonly DateWriter[]) => {
    for (const w of list) {
      await w.rollback();
      w.release();
    }
  };
  try {
    const failed = opened.find((o): o is PromiseRejectedResult => o.status === 'rejected');
    if (failed) throw failed.reason;
    const sink = new ChunkSink(writers);
    if (task.stepMs === undefined) await readExports(task, mode, dates, sink, run.signal);
    else await readRange(task, task.stepMs, dateMs(dates[0]!), dateMs(dates[dates.length - 1]!) + DAY_MS - 1, sink, run.signal);
  } catch (err) {
    await abandon(writers);
    throw err;
  }
  await abandon(writers.filter((w) => w.read === 0));
  return writers.filter((w) => w.read > 0);
}

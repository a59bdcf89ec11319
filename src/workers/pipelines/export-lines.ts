// /api/v1/export lines that vm-extract parses (pure; the common ones it reads as bytes, export-bytes.ts):
// the series' metric as its raw JSON text (its key, and the labels column as they are); and VictoriaMetrics'
// own deduplication, applied the way it applies it.

/** One exported line: a series (or, with reduce_mem_usage, one block of it). */
export interface ExportLine {
  /** The `metric` object's JSON text, `{"__name__":"…",…}`: equal for every line of one series. */
  key: string;
  name: string;
  /** The labels without `__name__`, as JSON text (PostgreSQL parses it into jsonb). */
  labelsJson: string;
  auditId: string | undefined;
  values: number[];
  timestamps: number[];
}

const VALUES = '},"values":[';
const TIMESTAMPS = '],"timestamps":[';
const NAME = '{"__name__":"';

/** A value as VictoriaMetrics writes it in JSON: a number, or NaN, Inf, +Inf, -Inf unquoted. */
export function parseValue(token: string): number {
  if (token === 'Inf' || token === '+Inf') return Infinity;
  if (token === '-Inf') return -Infinity;
  return Number(token);
}

/** Splits one line; falls back to JSON.parse for the metric when its name or labels need unescaping. */
export function splitExportLine(line: string): ExportLine {
  const v = line.lastIndexOf(VALUES);
  const t = line.indexOf(TIMESTAMPS, v);
  if (!line.startsWith('{"metric":') || v < 0 || t < 0 || !line.endsWith(']}')) throw new Error(`unexpected line in the export: ${line.slice(0, 200)}`);
  const key = line.slice(10, v + 1);
  const values = line.slice(v + VALUES.length, t).split(',').map(parseValue);
  const timestamps = line.slice(t + TIMESTAMPS.length, -2).split(',').map(Number);
  let name = '';
  let labelsJson = key;
  if (key.startsWith(NAME)) {
    const end = key.indexOf('"', NAME.length);
    name = key.slice(NAME.length, end);
    labelsJson = key[end + 1] === ',' ? `{${key.slice(end + 2)}` : '{}';
  }
  let auditId: string | undefined;
  if (name.includes('\\') || key.includes('"audit_id":')) {
    const { __name__: parsedName = '', ...labels } = JSON.parse(key) as Record<string, string>;
    name = parsedName;
    labelsJson = JSON.stringify(labels);
    auditId = labels.audit_id;
  }
  return { key, name, labelsJson, auditId, values, timestamps };
}

/**
 * The samples of one series sorted by time (stable: of equal timestamps, the later line's last), then
 * deduplicated as VictoriaMetrics' -dedup.minScrapeInterval does (the last sample of each interval; 0: none).
 */
export function mergeSamples(
  lines: ReadonlyArray<{ values: readonly number[]; timestamps: readonly number[] }>,
  dedupIntervalMs: number,
): { values: readonly number[]; timestamps: readonly number[] } {
  let values = lines[0]!.values;
  let timestamps = lines[0]!.timestamps;
  if (lines.length > 1 || !isSorted(timestamps)) {
    const samples = lines.flatMap((l) => l.timestamps.map((ts, i) => ({ ts, value: l.values[i]! })));
    samples.sort((a, b) => a.ts - b.ts);
    values = samples.map((s) => s.value);
    timestamps = samples.map((s) => s.ts);
  }
  return dedupIntervalMs > 0 ? deduplicate(timestamps, values, dedupIntervalMs) : { values, timestamps };
}

function isSorted(timestamps: readonly number[]): boolean {
  for (let i = 1; i < timestamps.length; i++) if (timestamps[i]! < timestamps[i - 1]!) return false;
  return true;
}

/** VictoriaMetrics' DeduplicateSamples (lib/storage/dedup.go): the last sample of each interval. */
export function deduplicate<T>(timestamps: readonly number[], values: readonly T[], intervalMs: number): { values: T[]; timestamps: number[] } {
  if (timestamps.length < 2) return { values: [...values], timestamps: [...timestamps] };
  let tsNext = timestamps[0]! + intervalMs - 1;
  tsNext -= tsNext % intervalMs;
  const outTs: number[] = [];
  const outValues: T[] = [];
  for (let i = 1; i < timestamps.length; i++) {
    const ts = timestamps[i]!;
    if (ts <= tsNext) continue;
    outTs.push(timestamps[i - 1]!);
    outValues.push(values[i - 1]!);
    tsNext += intervalMs;
    if (tsNext < ts) {
      tsNext = ts + intervalMs - 1;
      tsNext -= tsNext % intervalMs;
    }
  }
  outTs.push(timestamps[timestamps.length - 1]!);
  outValues.push(values[values.length - 1]!);
  return { values: outValues, timestamps: outTs };
}

const UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1_000, m: 60_000, h: 3_600_000 };

/** A Go duration (`1m30s`, `1ms`, `0s`) in milliseconds; undefined when it is not one. */
export function goDurationMs(text: string): number | undefined {
  if (text === '0') return 0;
  const parts = [...text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join('') !== text) return undefined;
  return parts.reduce((ms, p) => ms + Number(p[1]) * UNITS[p[2]!]!, 0);
}

/** `-dedup.minScrapeInterval` from VictoriaMetrics' /metrics text; undefined when it is not there. */
export function dedupIntervalOf(metricsText: string): number | undefined {
  const m = /^flag\{name="dedup\.minScrapeInterval", value="([^"]*)"/m.exec(metricsText);
  return m ? goDurationMs(m[1]!) : undefined;
}

// /api/v1/export lines into a sink of samples (pure). The common line, one series whose name and labels need
// no unescaping with one sample, goes from the export's bytes to the sink as offsets into them: no string,
// array, object or buffer is made for it (on two shared cores the agent's CPU is the extract's). The others
// (several samples or blocks, an audit_id label, escapes) go through export-bytes.ts and export-lines.ts.
import { seriesFields } from './copy-binary.ts';
import { AUDIT_KEY, fastSeriesFields, lineText, locateLine, numberAt, sameKey, timestampsOf, valuesOf, type LineBytes } from './export-bytes.ts';
import { mergeSamples, splitExportLine } from './export-lines.ts';

/** A reduce_mem_usage export sent a series again after others: its blocks cannot be merged on the fly. */
export class SeriesRevisited extends Error {}

/** Where samples go: by the series' COPY fields, or by the bytes of its name and labels. */
export interface SampleSink {
  /** The samples of one series, sorted by time (equal timestamps next to each other). */
  series(fields: Buffer, values: readonly number[], timestamps: readonly number[]): void;
  /**
   * One sample of a series named by src[nameStart, nameEnd), its labels the JSON object `{` followed by
   * src[labelsStart, labelsEnd) (what comes after the name's entry, up to the closing brace).
   */
  sample(src: Buffer, nameStart: number, nameEnd: number, labelsStart: number, labelsEnd: number, value: number, timestampMs: number): void;
}

const NAME_PREFIX = '{"__name__":"'.length;
const COMMA = 0x2c;

/**
 * The 53-bit hashes of the series a blocks export has passed: open addressing in a Float64Array (no number
 * boxed per series, as a Set of them would), grown at half full.
 */
export class HashSet {
  private table = new Float64Array(1 << 12);
  private size = 0;

  /** Adds `hash`; false when it was there already. */
  add(hash: number): boolean {
    const key = hash === 0 ? 1 : hash;
    const table = this.table;
    const mask = table.length - 1;
    for (let i = ((key >>> 0) ^ Math.imul((key / 2 ** 32) | 0, 0x9e3779b1)) & mask; ; i = (i + 1) & mask) {
      const at = table[i]!;
      if (at === key) return false;
      if (at === 0) {
        table[i] = key;
        if (++this.size * 2 > table.length) this.grow();
        return true;
      }
    }
  }

  private grow(): void {
    const old = this.table;
    this.table = new Float64Array(old.length * 2);
    this.size = 0;
    for (const key of old) if (key !== 0) this.add(key);
  }
}

/**
 * The lines of one export into a sink. `blocks` (reduce_mem_usage): the lines of one series, next to each
 * other, are merged and deduplicated as the server would (`dedupIntervalMs`, 0: none); a series coming
 * again after others throws SeriesRevisited. Otherwise each line is a whole series, merged by the server.
 * Of a sample held twice (imported twice, no dedup), the last is written, once.
 */
export class ExportRows {
  private readonly passed: HashSet | undefined;
  private readonly dedupIntervalMs: number;
  private readonly sink: SampleSink;
  /** blocks: the series being read, written when a line of another one (or the end) comes. */
  private group: LineBytes[] = [];
  /** The chunk last looked into for `"audit_id":`, and where the next one is in it (-1: none). */
  private auditBuf: Buffer | undefined;
  private auditAt = -1;

  constructor(sink: SampleSink, mode: { blocks: boolean; dedupIntervalMs: number }) {
    this.sink = sink;
    this.dedupIntervalMs = mode.dedupIntervalMs;
    this.passed = mode.blocks ? new HashSet() : undefined;
  }

  /** One line, buf[start, end) without its newline. */
  line(buf: Buffer, start: number, end: number): void {
    const passed = this.passed;
    const line = locateLine(buf, start, end, { hashed: passed !== undefined, audit: this.audited(buf, start, end) });
    if (!passed) return this.write(line);
    const group = this.group;
    if (group.length) {
      if (sameKey(group[0]!, line)) return void group.push(line);
      this.end();
    }
    if (!passed.add(line.hash)) throw new SeriesRevisited(`series ${lineText(line).slice(0, 200)} came again after others`);
    this.group.push(line);
  }

  /** After the last line: writes the series being read. */
  end(): void {
    const group = this.group;
    if (group.length === 1) this.write(group[0]!);
    else if (group.length) this.writeMerged(group);
    if (group.length) this.group = [];
  }

  /** Whether buf[start, end) holds `"audit_id":`, found by one search per chunk instead of a scan per line. */
  private audited(buf: Buffer, start: number, end: number): boolean {
    if (buf !== this.auditBuf) {
      this.auditBuf = buf;
      this.auditAt = buf.indexOf(AUDIT_KEY, start);
    }
    if (this.auditAt !== -1 && this.auditAt < start) this.auditAt = buf.indexOf(AUDIT_KEY, start);
    return this.auditAt !== -1 && this.auditAt < end;
  }

  private write(line: LineBytes): void {
    const { buf, nameEnd, timestampsStart, timestampsEnd } = line;
    if (nameEnd === -1) return this.writeMerged([line]);
    if (timestampsStart === timestampsEnd) return; // no samples
    // One sample with a timestamp of digits only (a comma: several, a sign: before 1970): the general path.
    let ts = 0;
    for (let i = timestampsStart; i < timestampsEnd; i++) {
      const c = buf[i]!;
      if (c < 0x30 || c > 0x39) return this.writeMerged([line]);
      ts = ts * 10 + (c - 0x30);
    }
    const labelsStart = buf[nameEnd + 1] === COMMA ? nameEnd + 2 : line.keyEnd - 1;
    this.sink.sample(buf, line.keyStart + NAME_PREFIX, nameEnd, labelsStart, line.keyEnd, numberAt(buf, line.valuesStart, line.valuesEnd), ts);
  }

  private writeMerged(group: readonly LineBytes[]): void {
    const first = group[0]!;
    let fields = fastSeriesFields(first);
    if (!fields) {
      const parsed = splitExportLine(lineText(first));
      fields = seriesFields(parsed.auditId, parsed.name, parsed.labelsJson);
    }
    const { values, timestamps } = mergeSamples(group.map((l) => ({ values: valuesOf(l), timestamps: timestampsOf(l) })), this.passed ? this.dedupIntervalMs : 0);
    this.sink.series(fields, values, timestamps);
  }
}

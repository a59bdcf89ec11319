// /api/v1/export lines read as bytes (pure): where each part of a line is, so that vm-extract can copy a
// series' name and labels straight into its binary COPY rows, with no string decoded or encoded per line.
// Lines it cannot take this way (escapes in the name, an audit_id label) go through export-lines.ts.

const VALUES = Buffer.from('},"values":[');
const TIMESTAMPS = Buffer.from('],"timestamps":[');
const METRIC = Buffer.from('{"metric":');
const NAME = Buffer.from('{"__name__":"');
const AUDIT = Buffer.from('"audit_id":');
const EMPTY_LABELS = Buffer.from('{}');
const BACKSLASH = 0x5c;
const QUOTE = 0x22;
const COMMA = 0x2c;

/** One line of an export, as offsets into `buf`. */
export interface LineBytes {
  buf: Buffer;
  /** The `metric` object, `{…}`, [keyStart, keyEnd). */
  keyStart: number;
  keyEnd: number;
  valuesStart: number;
  valuesEnd: number;
  timestampsStart: number;
  timestampsEnd: number;
  /** Where the name's closing quote is; -1 when the metric needs parsing (no name first, an escape in it, an audit_id label). */
  nameEnd: number;
  /** keyHash of the metric (0 when not asked for): to remember which series a read has passed. */
  hash: number;
}

/** Splits a body into lines as chunks arrive; a line split across chunks is joined. */
export class LineSplitter {
  private rest: Buffer | undefined;

  /** The complete lines of `chunk` (with what was left of the one before), as [buf, start, end) triples. */
  push(chunk: Buffer, each: (buf: Buffer, start: number, end: number) => void): void {
    let start = 0;
    let nl = chunk.indexOf(10);
    if (this.rest && nl !== -1) {
      const joined = Buffer.concat([this.rest, chunk.subarray(0, nl)]);
      this.rest = undefined;
      if (joined.length) each(joined, 0, joined.length);
      start = nl + 1;
      nl = chunk.indexOf(10, start);
    }
    for (; nl !== -1; nl = chunk.indexOf(10, start)) {
      if (nl > start) each(chunk, start, nl);
      start = nl + 1;
    }
    if (start < chunk.length) this.rest = this.rest ? Buffer.concat([this.rest, chunk.subarray(start)]) : chunk.subarray(start);
  }

  /** What is left after the last chunk (a last line without a newline). */
  end(each: (buf: Buffer, start: number, end: number) => void): void {
    if (this.rest?.length) each(this.rest, 0, this.rest.length);
    this.rest = undefined;
  }
}

function unexpected(buf: Buffer, start: number, end: number): Error {
  return new Error(`unexpected line in the export: ${buf.toString('utf8', start, Math.min(end, start + 200))}`);
}

/** Whether `what` is at `at` (a loop: Buffer#compare costs more than these few bytes). */
function bytesAt(buf: Buffer, at: number, what: Buffer): boolean {
  if (at < 0 || at + what.length > buf.length) return false;
  for (let i = 0; i < what.length; i++) if (buf[at + i] !== what[i]) return false;
  return true;
}

/**
 * A 53-bit hash of buf[start, end) (two 32-bit multiply-xorshift hashes over 4 bytes at a time): to remember
 * which series a read has passed.
 */
export function keyHash(buf: Buffer, start: number, end: number): number {
  let h1 = 0x811c9dc5;
  let h2 = 0x2545f491;
  let i = start;
  for (; i + 4 <= end; i += 4) {
    const w = buf[i]! | (buf[i + 1]! << 8) | (buf[i + 2]! << 16) | (buf[i + 3]! << 24);
    h1 = Math.imul(h1 ^ w, 0x01000193);
    h1 ^= h1 >>> 15;
    h2 = Math.imul(h2 ^ w, 0x5bd1e995);
    h2 ^= h2 >>> 13;
  }
  for (; i < end; i++) {
    h1 = Math.imul(h1 ^ buf[i]!, 0x01000193);
    h2 = Math.imul(h2 ^ buf[i]!, 0x5bd1e995);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 0x85ebca6b);
  h1 = Math.imul(h1 ^ (h1 >>> 13), 0xc2b2ae35);
  h1 ^= h1 >>> 16;
  h2 = Math.imul(h2 ^ (h2 >>> 16), 0x7feb352d);
  h2 = Math.imul(h2 ^ (h2 >>> 15), 0x846ca68b);
  h2 ^= h2 >>> 16;
  return (h1 >>> 0) * 2 ** 21 + ((h2 >>> 0) & 0x1fffff);
}

/** The key `"audit_id":` as bytes (export-rows.ts looks for it once per chunk). */
export const AUDIT_KEY = AUDIT;

export interface LocateOptions {
  /** Whether to compute `hash` (0 without). */
  hashed: boolean;
  /** Whether the metric holds `"audit_id":`, when the caller knows; otherwise it is looked for. */
  audit?: boolean;
}

/**
 * Where the parts of one line are: found from its end (the two arrays hold only numbers), then the metric's
 * name, whether it has an audit_id label, and its hash.
 */
export function locateLine(buf: Buffer, start: number, end: number, options: LocateOptions = { hashed: true }): LineBytes {
  // {"metric":{…},"values":[1,2],"timestamps":[1,2]}
  if (end - start < METRIC.length + VALUES.length + TIMESTAMPS.length + 2 || buf[end - 1] !== 0x7d || buf[end - 2] !== 0x5d) throw unexpected(buf, start, end);
  let t = end - 3;
  while (t > start && buf[t] !== 0x5b) t--;
  const timestampsStart = t + 1;
  if (!bytesAt(buf, timestampsStart - TIMESTAMPS.length, TIMESTAMPS)) throw unexpected(buf, start, end);
  const valuesEnd = timestampsStart - TIMESTAMPS.length;
  let v = valuesEnd - 1;
  while (v > start && buf[v] !== 0x5b) v--;
  const valuesStart = v + 1;
  if (!bytesAt(buf, valuesStart - VALUES.length, VALUES) || !bytesAt(buf, start, METRIC)) throw unexpected(buf, start, end);
  const keyStart = start + METRIC.length;
  const keyEnd = valuesStart - VALUES.length + 1;
  let audit = options.audit;
  if (audit === undefined) {
    audit = false;
    for (let i = keyStart; i < keyEnd && !audit; i++) if (buf[i] === QUOTE && buf[i + 1] === 0x61 && bytesAt(buf, i, AUDIT)) audit = true;
  }
  let nameEnd = -1;
  if (!audit && bytesAt(buf, keyStart, NAME)) {
    for (let i = keyStart + NAME.length; i < keyEnd; i++) {
      if (buf[i] === BACKSLASH) break;
      if (buf[i] === QUOTE) {
        nameEnd = i;
        break;
      }
    }
  }
  const hash = options.hashed ? keyHash(buf, keyStart, keyEnd) : 0;
  return { buf, keyStart, keyEnd, valuesStart, valuesEnd, timestampsStart, timestampsEnd: end - 2, nameEnd, hash };
}

export function sameKey(a: LineBytes, b: LineBytes): boolean {
  return a.hash === b.hash && a.keyEnd - a.keyStart === b.keyEnd - b.keyStart && a.buf.compare(b.buf, b.keyStart, b.keyEnd, a.keyStart, a.keyEnd) === 0;
}

/**
 * The series' COPY fields (audit_id NULL, metric_name, labels as jsonb) copied from the line's bytes, or
 * undefined when the line needs parsing (see `nameEnd`).
 */
export function fastSeriesFields(line: LineBytes): Buffer | undefined {
  const { buf, keyStart, keyEnd, nameEnd } = line;
  if (nameEnd === -1) return undefined;
  const nameStart = keyStart + NAME.length;
  const nameLength = nameEnd - nameStart;
  // The labels: `{` then everything after the name's entry, or `{}` when there is nothing after it.
  const labelsLength = buf[nameEnd + 1] === COMMA ? keyEnd - nameEnd - 1 : 2;
  const out = Buffer.allocUnsafe(4 + 4 + nameLength + 4 + 1 + labelsLength);
  out.writeInt32BE(-1, 0);
  out.writeInt32BE(nameLength, 4);
  buf.copy(out, 8, nameStart, nameEnd);
  let at = out.writeInt32BE(labelsLength + 1, 8 + nameLength);
  out[at++] = 1;
  if (labelsLength === 2) EMPTY_LABELS.copy(out, at);
  else {
    out[at] = 0x7b;
    buf.copy(out, at + 1, nameEnd + 2, keyEnd);
  }
  return out;
}

function token(buf: Buffer, start: number, end: number): number {
  const text = buf.toString('latin1', start, end);
  if (text === 'Inf' || text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  return Number(text);
}

/** Powers of ten a double holds exactly. */
const EXACT_POWERS = Array.from({ length: 23 }, (_, i) => Number(`1e${i}`));

/**
 * The number buf[start, end) as VictoriaMetrics writes it (`12`, `-0.25`, `1.5e-07`, `NaN`, `Inf`), read
 * without making a string when it has at most 15 significant digits and a power of ten within ±22: then
 * digits ÷ or × 10^k is one correctly rounded operation on exact doubles (Clinger's fast path), the value
 * Number() gives. Anything else goes through Number().
 */
export function numberAt(buf: Buffer, start: number, end: number): number {
  let i = start;
  const negative = buf[i] === 0x2d;
  if (negative || buf[i] === 0x2b) i++;
  let digits = 0;
  let significant = 0;
  let mantissa = 0;
  let exponent = 0;
  let dot = false;
  for (; i < end; i++) {
    const c = buf[i]!;
    if (c >= 0x30 && c <= 0x39) {
      digits++;
      if (dot) exponent--;
      if (mantissa === 0 && c === 0x30) continue;
      if (++significant > 15) return token(buf, start, end);
      mantissa = mantissa * 10 + (c - 0x30);
    } else if (c === 0x2e && !dot) dot = true;
    else break;
  }
  if (digits === 0) return token(buf, start, end);
  if (i < end) {
    if (buf[i] !== 0x65 && buf[i] !== 0x45) return token(buf, start, end);
    i++;
    const negativeExponent = buf[i] === 0x2d;
    if (negativeExponent || buf[i] === 0x2b) i++;
    let e = 0;
    const from = i;
    for (; i < end && e < 1000; i++) {
      const c = buf[i]!;
      if (c < 0x30 || c > 0x39) return token(buf, start, end);
      e = e * 10 + (c - 0x30);
    }
    if (i === from || i < end) return token(buf, start, end);
    exponent += negativeExponent ? -e : e;
  }
  let value: number;
  if (mantissa === 0) value = 0;
  else if (exponent >= 0 && exponent <= 22) value = mantissa * EXACT_POWERS[exponent]!;
  else if (exponent < 0 && exponent >= -22) value = mantissa / EXACT_POWERS[-exponent]!;
  else return token(buf, start, end);
  return negative ? -value : value;
}

export function valuesOf(line: LineBytes): number[] {
  const { buf, valuesStart: start, valuesEnd: end } = line;
  const out: number[] = [];
  let at = start;
  for (let i = start; i <= end; i++) {
    if (i === end || buf[i] === COMMA) {
      if (i > at) out.push(numberAt(buf, at, i));
      at = i + 1;
    }
  }
  return out;
}

/** Integers (milliseconds), read digit by digit. */
export function timestampsOf(line: LineBytes): number[] {
  const { buf, timestampsStart: start, timestampsEnd: end } = line;
  const out: number[] = [];
  let n = 0;
  let sign = 1;
  for (let i = start; i <= end; i++) {
    const c = i === end ? COMMA : buf[i]!;
    if (c === COMMA) {
      out.push(sign * n);
      n = 0;
      sign = 1;
    } else if (c === 0x2d) sign = -1;
    else n = n * 10 + (c - 0x30);
  }
  return out;
}

export function lineText(line: LineBytes): string {
  return line.buf.toString('utf8', line.keyStart - METRIC.length, line.timestampsEnd + 2);
}

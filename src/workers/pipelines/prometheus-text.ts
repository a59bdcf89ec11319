// Source records → Prometheus text exposition lines for /api/v1/import/prometheus: pure.

export type Labels = Record<string, string>;

/** A metric name: [a-zA-Z_:][a-zA-Z0-9_:]*; anything else becomes `_`. */
export function metricName(text: string): string {
  return text.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/^([0-9])/, '_$1');
}

/** A label name: [a-zA-Z_][a-zA-Z0-9_]*. */
export function labelName(text: string): string {
  return text.replace(/[^a-zA-Z0-9_]/g, '_').replace(/^([0-9])/, '_$1');
}

/** A label value inside double quotes: backslash, double quote and line feed escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** `{a="1",b="2"}`, or '' with no labels. Names are sanitised; order is kept. */
export function formatLabels(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${labelName(k)}="${escapeLabelValue(v)}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}

/** One line: `name{labels} value timestampMs`. */
export function sampleLine(name: string, labels: Labels, value: number, timestampMs: number): string {
  return `${metricName(name)}${formatLabels(labels)} ${formatValue(value)} ${Math.round(timestampMs)}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

export interface RecordMapping {
  /** Prefixed to every numeric field's name. */
  prefix: string;
  /** String fields of each record that become labels (and not samples). */
  labelFields: readonly string[];
  /** Labels on every sample, after `business_date` and before the label fields. */
  labels: Labels;
}

export class MalformedRecord extends Error {}

/**
 * The records of one business date → the sample lines, every numeric field of every record a sample
 * `PREFIX<field>{business_date, labels, label_fields} value <date 00:00 UTC>`. Throws MalformedRecord,
 * naming the record, when a record is not an object or a label field holds an object or array.
 */
export function recordsToLines(records: readonly unknown[], date: string, dateMs: number, mapping: RecordMapping): string[] {
  const lines: string[] = [];
  const base = formatLabels({ business_date: date, ...mapping.labels });
  const labelNames = mapping.labelFields.map((f) => [f, labelName(f)] as const);
  const labelSet = new Set(mapping.labelFields);
  const names = new Map<string, string>();
  const ts = String(Math.round(dateMs));
  records.forEach((record, index) => {
    if (record === null || typeof record !== 'object' || Array.isArray(record)) {
      throw new MalformedRecord(`record ${index + 1} is ${record === null ? 'null' : Array.isArray(record) ? 'an array' : `a ${typeof record}`}, not an object`);
    }
    const fields = record as Record<string, unknown>;
    let extra = '';
    for (const [field, name] of labelNames) {
      const value = fields[field];
      if (value === undefined || value === null) continue;
      if (typeof value === 'object') throw new MalformedRecord(`record ${index + 1}: label field "${field}" is ${Array.isArray(value) ? 'an array' : 'an object'}, not a string`);
      extra += `,${name}="${escapeLabelValue(String(value))}"`;
    }
    const labels = base === '' ? (extra ? `{${extra.slice(1)}}` : '') : extra ? `${base.slice(0, -1)}${extra}}` : base;
    for (const field in fields) {
      const value = fields[field];
      if (typeof value !== 'number' || !Number.isFinite(value) || labelSet.has(field)) continue;
      let name = names.get(field);
      if (name === undefined) names.set(field, (name = metricName(mapping.prefix + field)));
      lines.push(`${name}${labels} ${value} ${ts}`);
    }
  });
  return lines;
}

/** The array of records in a source response: the body itself, or its `data`, `records` or `items` array. */
export function recordsOf(body: unknown): unknown[] | undefined {
  if (Array.isArray(body)) return body;
  if (body && typeof body === 'object') {
    for (const key of ['data', 'records', 'items', 'results']) {
      const value = (body as Record<string, unknown>)[key];
      if (Array.isArray(value)) return value;
    }
  }
  return undefined;
}

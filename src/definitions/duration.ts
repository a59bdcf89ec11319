// Durations in job files: `500ms`, `90s`, `5m`, `1h30m`, `2d`; a bare number means seconds.

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/y;

/** Milliseconds, or an error message saying what is accepted. */
export function parseDuration(value: unknown): number | { error: string } {
  if (typeof value === 'number') {
    if (Number.isFinite(value) && value >= 0) return Math.round(value * 1000);
    return { error: `${value} is not a duration: use a number of seconds ≥ 0 or a string like "90s", "5m", "1h30m"` };
  }
  if (typeof value !== 'string') return { error: 'a duration must be a string like "90s" or a number of seconds' };
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < text.length) {
    const start = PART.lastIndex;
    const match = PART.exec(text);
    if (!match || match.index !== start) {
      return { error: `"${value}" is not a duration: use units ms, s, m, h, d as in "500ms", "90s", "1h30m", "2d"` };
    }
    total += Number(match[1]) * UNIT_MS[match[2]!]!;
  }
  if (text.length === 0) return { error: 'empty duration' };
  return Math.round(total);
}

/** 5400000 → `1h30m`; for messages and tables. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  let rest = ms;
  let out = '';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1_000], ['ms', 1]] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) {
      out += `${n}${unit}`;
      rest -= n * size;
    }
  }
  return out;
}

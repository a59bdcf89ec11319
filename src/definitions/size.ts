// Sizes in job files: `512M`, `2G`, `64KiB`, `1.5G`; a bare number means bytes. Units are binary
// (K = 1024), as in ulimit, systemd's MemoryMax= and Docker's --memory.

const UNIT: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };
const SIZE = /^(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?$/i;

/** Bytes (a whole number), or an error message saying what is accepted. */
export function parseSize(value: unknown): number | { error: string } {
  const hint = 'use bytes or a number with a unit K, M, G, T (1024-based), as in "512M", "2G"';
  if (typeof value === 'number') {
    if (Number.isSafeInteger(value) && value >= 0) return value;
    return { error: `${value} is not a size: ${hint}` };
  }
  if (typeof value !== 'string') return { error: `a size must be a string like "512M" or a number of bytes` };
  const match = SIZE.exec(value.trim());
  if (!match) return { error: `"${value}" is not a size: ${hint}` };
  const bytes = Math.floor(Number(match[1]) * UNIT[match[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) return { error: `"${value}" is too large` };
  return bytes;
}

/** 67108864 → `64M`, 1536 → `1.5K`, 1000 → `1000B`; for messages. */
export function formatSize(bytes: number): string {
  for (const [unit, size] of [['T', 2 ** 40], ['G', 2 ** 30], ['M', 2 ** 20], ['K', 2 ** 10]] as const) {
    if (bytes >= size) {
      const n = bytes / size;
      return Number.isInteger(n) ? `${n}${unit}` : `${Number(n.toFixed(1))}${unit}`;
    }
  }
  return `${bytes}B`;
}

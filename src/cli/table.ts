// Plain-text tables for the CLI.

export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, c) => Math.max(h.length, ...rows.map((r) => (r[c] ?? '').length)));
  return [header, ...rows].map((row) => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd() + '\n').join('');
}

// Plain-text tables for the CLI.

export function formatTable(header: string[], rows: string[][]): string {
  // A loop, not Math.max(...column): spreading 200,000 rows overflows the call stack (jobsd next --count).
  const widths = header.map((h) => h.length);
  for (const row of rows) row.forEach((cell, c) => (widths[c] = Math.max(widths[c] ?? 0, cell.length)));
  return [header, ...rows].map((row) => row.map((cell, c) => cell.padEnd(widths[c]!)).join('  ').trimEnd() + '\n').join('');
}

// systemd unit files, read as systemd reads them: sections, `Key=value` lines (a trailing backslash
// continues a line; `#` and `;` start comments; an empty value resets the list), and ExecStart= words.

export interface UnitEntry {
  key: string;
  value: string;
  line: number;
}

export type Unit = Map<string, UnitEntry[]>;

export function parseUnit(text: string): Unit {
  const unit: Unit = new Map();
  let section = '';
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const start = i;
    let line = lines[i]!.trim();
    while (line.endsWith('\\') && i + 1 < lines.length) line = line.slice(0, -1) + ' ' + lines[++i]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      if (!unit.has(section)) unit.set(section, []);
      continue;
    }
    const eq = line.indexOf('=');
    if (eq < 0) continue;
    const key = line.slice(0, eq).trim();
    const value = line.slice(eq + 1).trim();
    const entries = unit.get(section) ?? [];
    unit.set(section, value === '' ? entries.filter((e) => e.key !== key) : [...entries, { key, value, line: start + 1 }]);
  }
  return unit;
}

export function values(unit: Unit, section: string, key: string): UnitEntry[] {
  return (unit.get(section) ?? []).filter((e) => e.key === key);
}

export function lastValue(unit: Unit, section: string, key: string): string | undefined {
  return values(unit, section, key).at(-1)?.value;
}

/** A word of an ExecStart= line: literal text and `${VAR}`/`$VAR` references, kept apart. */
export type Word = ({ text: string } | { variable: string; split: boolean })[];

/**
 * The words of a command line (systemd.service(5) "Command lines"): double and single quotes,
 * C-style backslash escapes, `$$` for `$`, `${VAR}` (one word) and `$VAR` (split on whitespace).
 */
export function splitCommandLine(text: string): Word[] {
  const words: Word[] = [];
  let i = 0;
  while (i < text.length) {
    while (i < text.length && /\s/.test(text[i]!)) i++;
    if (i >= text.length) break;
    const word: Word = [];
    const add = (t: string) => {
      const lastPart = word.at(-1);
      if (lastPart && 'text' in lastPart) lastPart.text += t;
      else word.push({ text: t });
    };
    let quote: string | null = null;
    for (; i < text.length; i++) {
      const c = text[i]!;
      if (quote === null && /\s/.test(c)) break;
      if (quote !== null && c === quote) {
        quote = null;
        continue;
      }
      if (quote === null && (c === '"' || c === "'")) {
        quote = c;
        continue;
      }
      if (c === '\\' && i + 1 < text.length) {
        const n = text[++i]!;
        add(({ n: '\n', t: '\t', r: '\r', a: '\x07', b: '\b', f: '\f', v: '\v', s: ' ' } as Record<string, string>)[n] ?? n);
        continue;
      }
      if (c === '$') {
        if (text[i + 1] === '$') {
          add('$');
          i++;
          continue;
        }
        const braced = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}/.exec(text.slice(i));
        const bare = /^\$([A-Za-z_][A-Za-z0-9_]*)/.exec(text.slice(i));
        const m = braced ?? bare;
        if (m) {
          word.push({ variable: m[1]!, split: !braced && quote === null });
          i += m[0].length - 1;
          continue;
        }
      }
      add(c);
    }
    words.push(word);
  }
  return words;
}

/** Environment= values: `"A=1" B=2 'C=x y'` → pairs. */
export function parseEnvironment(text: string): [string, string][] {
  const out: [string, string][] = [];
  for (const word of splitCommandLine(text.replaceAll('$', '$$'))) {
    const joined = word.map((p) => ('text' in p ? p.text : '')).join('');
    const eq = joined.indexOf('=');
    if (eq > 0) out.push([joined.slice(0, eq), joined.slice(eq + 1)]);
  }
  return out;
}

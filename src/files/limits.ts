// What a job file may cost to load. A job file is small (a few hundred bytes to a few KiB); these limits
// are far above that and keep a hostile or broken file from stalling the ticker or exhausting memory.

/** The largest file read (`--max-file-size`, JOBSD_MAX_FILE_SIZE). */
export const DEFAULT_MAX_FILE_BYTES = 1024 * 1024;
/** Deepest nesting of mappings and lists (a job file needs about 5). */
export const MAX_DEPTH = 64;
/** Mappings, lists and scalars in one file: enough for any job, few enough to parse in milliseconds. */
export const MAX_VALUES = 10_000;
/** Errors reported per file; the rest are counted ("and 9,981 more"). */
export const MAX_ERRORS_PER_FILE = 20;
/** Longest key or value quoted in an error message. */
export const MAX_QUOTED = 60;

export interface StructureProblem {
  offset: number;
  message: string;
}

/**
 * Where a text first nests flow collections (`[`, `{`) deeper than MAX_DEPTH, or holds more than
 * MAX_VALUES entries (counted by their `,` `:` and `- ` indicators, an over-estimate). A linear scan that
 * skips quoted strings and comments, run before a parser that would recurse once per level or take
 * seconds over 100,000 keys.
 */
export function structureProblem(text: string, format: 'json' | 'json5' | 'yaml'): StructureProblem | undefined {
  let depth = 0;
  let values = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (c === '[' || c === '{') {
      if (++depth > MAX_DEPTH) return { offset: i, message: `nested more than ${MAX_DEPTH} levels deep` };
    } else if (c === ']' || c === '}') {
      if (depth > 0) depth--;
    } else if (c === ',' || (c === ':' && (format !== 'yaml' || /[\s,\]}]/.test(text[i + 1] ?? ' '))) || (c === '-' && format === 'yaml' && /\s/.test(text[i + 1] ?? ' '))) {
      if (++values > MAX_VALUES) return { offset: i, message: `more than ${MAX_VALUES.toLocaleString('en-US')} values: a job file needs far fewer` };
    } else if (c === '"' || (c === "'" && (format !== 'yaml' || startsToken(text, i)))) {
      i = stringEnd(text, i, c, format === 'yaml' && c === "'");
    } else if (c === '#' && format === 'yaml' && startsToken(text, i)) {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && format === 'json5' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++;
    } else if (c === '/' && format === 'json5' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2);
      i = end < 0 ? text.length : end + 1;
    }
  }
  return undefined;
}

/** In YAML a quote opens a string only where a token starts (`don't` is a plain scalar). */
function startsToken(text: string, i: number): boolean {
  return i === 0 || /[\s[{,:]/.test(text[i - 1]!);
}

function stringEnd(text: string, open: number, quote: string, doubledQuoteEscapes: boolean): number {
  for (let i = open + 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\' && !doubledQuoteEscapes) i++;
    else if (c === quote) {
      if (doubledQuoteEscapes && text[i + 1] === quote) i++;
      else return i;
    }
  }
  return text.length;
}

/** A key or value as an error message may quote it: JSON-quoted, control characters escaped, shortened. */
export function quoted(text: string, max = MAX_QUOTED): string {
  const short = text.length > max ? `${text.slice(0, max - 1)}…` : text;
  return JSON.stringify(short);
}

/** Control characters (ESC, newlines, NUL…) as visible escapes, for every line a person reads in a terminal. */
export function escapeControl(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/g, (c) => {
    const named: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };
    const code = c.charCodeAt(0);
    return named[c] ?? (code > 0xff ? `\\u${code.toString(16)}` : `\\x${code.toString(16).padStart(2, '0')}`);
  });
}

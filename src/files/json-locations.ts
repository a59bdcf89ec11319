// Positions of the values and keys of a JSON or JSON5 text, and the first key given twice in one object
// (both parsers keep the last silently). The text has already been parsed successfully (by JSON.parse or
// json5), so this scanner only needs to find where things are.

import { emptyLocations, pointer, type Location, type Locations } from './locations.ts';

export interface JsonScan {
  locations: Locations;
  /** The first key that repeats a key of its object, where the repetition is. */
  duplicate?: { key: string; at: Location };
}

const ID_CHAR = /[\p{L}\p{N}$_\u200c\u200d\\]/u;

export function jsonLocations(text: string, file: string): JsonScan {
  const locations = emptyLocations();
  let duplicate: JsonScan['duplicate'];
  let i = 0;
  let line = 1;
  let lineStart = 0;

  const here = () => ({ file, line, column: i - lineStart + 1 });
  const newline = () => {
    line++;
    lineStart = i;
  };
  const skip = () => {
    while (i < text.length) {
      const c = text[i]!;
      if (c === '\n' || c === '\u2028' || c === '\u2029' || (c === '\r' && text[i + 1] !== '\n')) {
        i++;
        newline();
      } else if (c === '/' && text[i + 1] === '/') {
        while (i < text.length && text[i] !== '\n' && text[i] !== '\r') i++;
      } else if (c === '/' && text[i + 1] === '*') {
        i += 2;
        while (i < text.length && !(text[i] === '*' && text[i + 1] === '/')) {
          if (text[i] === '\n') {
            i++;
            newline();
          } else i++;
        }
        i += 2;
      } else if (/\s|\ufeff/.test(c)) i++;
      else return;
    }
  };
  const string = (): string => {
    const quote = text[i++]!;
    let out = '';
    while (i < text.length && text[i] !== quote) {
      if (text[i] === '\\') {
        const next = text[i + 1]!;
        if (next === '\n') {
          i += 2;
          newline();
          continue;
        }
        out += ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f', v: '\v', '0': '\0' } as Record<string, string>)[next] ?? next;
        if (next === 'u') {
          out = out.slice(0, -1) + String.fromCharCode(parseInt(text.slice(i + 2, i + 6), 16));
          i += 6;
        } else if (next === 'x') {
          out = out.slice(0, -1) + String.fromCharCode(parseInt(text.slice(i + 2, i + 4), 16));
          i += 4;
        } else i += 2;
      } else out += text[i++];
    }
    i++;
    return out;
  };
  const key = (): string => {
    if (text[i] === '"' || text[i] === "'") return string();
    const start = i;
    while (i < text.length && ID_CHAR.test(text[i]!)) i++;
    return text.slice(start, i);
  };
  const value = (path: (string | number)[]): void => {
    skip();
    locations.values.set(pointer(path), here());
    const c = text[i];
    if (c === '{') {
      i++;
      const seen = new Set<string>();
      for (;;) {
        skip();
        if (text[i] === '}' || i >= text.length) break;
        const keyAt = here();
        const name = key();
        if (seen.has(name)) duplicate ??= { key: name, at: keyAt };
        seen.add(name);
        locations.keys.set(pointer([...path, name]), keyAt);
        skip();
        i++; // ':'
        value([...path, name]);
        skip();
        if (text[i] === ',') i++;
      }
      i++;
    } else if (c === '[') {
      i++;
      for (let index = 0; ; index++) {
        skip();
        if (text[i] === ']' || i >= text.length) break;
        value([...path, index]);
        skip();
        if (text[i] === ',') i++;
      }
      i++;
    } else if (c === '"' || c === "'") {
      string();
    } else {
      while (i < text.length && !/[\s,\]}/]/.test(text[i]!)) i++;
    }
  };
  value([]);
  return duplicate ? { locations, duplicate } : { locations };
}

// Text → value, with the position of every value and key, for JSON, JSON5 and YAML.

import JSON5 from 'json5';
import { isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { ERROR_CODES, type FileError } from '../definitions/errors.ts';
import { jsonLocations } from './json-locations.ts';
import { emptyLocations, pointer, type Locations } from './locations.ts';
import type { FileFormat } from './names.ts';

export interface ParsedDocument {
  value: unknown;
  locations: Locations;
}

export function parseText(text: string, format: FileFormat, file: string): ParsedDocument | FileError {
  return format === 'yaml' ? parseYaml(text, file) : parseJson(text, format, file);
}

function syntaxError(file: string, line: number | undefined, column: number | undefined, message: string): FileError {
  return { code: ERROR_CODES.syntax, file, line, column, message };
}

function parseJson(text: string, format: 'json' | 'json5', file: string): ParsedDocument | FileError {
  if (text.trim() === '') return syntaxError(file, 1, 1, 'the file is empty');
  let value: unknown;
  try {
    value = format === 'json' ? JSON.parse(text) : JSON5.parse(text);
  } catch (error) {
    const what = format === 'json' ? 'invalid JSON' : 'invalid JSON5';
    // V8 says where for most JSON errors; json5 always does, and fails at the same place on invalid JSON.
    const v8 = /^(.*?) in JSON at position \d+ \(line (\d+) column (\d+)\)/.exec((error as Error).message);
    if (format === 'json' && v8) return syntaxError(file, Number(v8[2]), Number(v8[3]), `${what}: ${v8[1]}`);
    const located = json5Error(text);
    if (!located) return syntaxError(file, 1, 1, `${what}: comments, trailing commas and unquoted keys need the .json5 extension`);
    return syntaxError(file, located.line, located.column, `${what}: ${located.message}`);
  }
  return { value, locations: jsonLocations(text, file) };
}

function json5Error(text: string): { line: number; column: number; message: string } | undefined {
  try {
    JSON5.parse(text);
    return undefined;
  } catch (error) {
    const e = error as SyntaxError & { lineNumber?: number; columnNumber?: number };
    const message = e.message.replace(/^JSON5: /, '').replace(/ at \d+:\d+$/, '');
    return { line: e.lineNumber ?? 1, column: e.columnNumber ?? 1, message };
  }
}

function parseYaml(text: string, file: string): ParsedDocument | FileError {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, merge: true });
  const first = doc.errors[0];
  if (first) {
    const at = lineCounter.linePos(errorOffset(text, first.pos[0], first.message));
    return syntaxError(file, at.line, at.col, `invalid YAML: ${first.message.split('\n')[0]}`);
  }
  const locations = emptyLocations();
  const at = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { file, line: p.line, column: p.col };
  };
  const walk = (node: unknown, path: (string | number)[]): void => {
    const n = node as Node | null;
    if (!n) return;
    if (n.range) locations.values.set(pointer(path), at(n.range[0]));
    if (isMap(n)) {
      for (const item of n.items) {
        if (!isPair(item)) continue;
        const key = isScalar(item.key) ? String(item.key.value) : String(item.key);
        const keyNode = item.key as Node | null;
        if (keyNode?.range) locations.keys.set(pointer([...path, key]), at(keyNode.range[0]));
        if (item.value) walk(item.value, [...path, key]);
        else if (keyNode?.range) locations.values.set(pointer([...path, key]), at(keyNode.range[0]));
      }
    } else if (isSeq(n)) {
      n.items.forEach((item, index) => walk(item, [...path, index]));
    }
  };
  walk(doc.contents, []);
  if (!locations.values.has('')) locations.values.set('', { file, line: 1, column: 1 });
  return { value: doc.toJS({ maxAliasCount: 100 }), locations };
}

/** An unterminated quote is reported at the end of the text; point at where the quote opened. */
function errorOffset(text: string, offset: number, message: string): number {
  const quote = /Missing closing (["'])quote/.exec(message)?.[1];
  if (!quote) return offset;
  const open = text.lastIndexOf(quote, Math.min(offset, text.length - 1));
  return open >= 0 ? open : offset;
}

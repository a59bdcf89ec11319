// Text → value, with the position of every value and key, for JSON, JSON5 and YAML.

import JSON5 from 'json5';
import { isAlias, isMap, isPair, isScalar, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { ERROR_CODES, fieldName, type FileError } from '../definitions/errors.ts';
import { jsonLocations } from './json-locations.ts';
import { MAX_DEPTH, quoted, structureProblem } from './limits.ts';
import { emptyLocations, pointer, positionAt, type Locations } from './locations.ts';
import type { FileFormat } from './names.ts';

export interface ParsedDocument {
  value: unknown;
  locations: Locations;
}

/**
 * Never throws: a text that is too deep, too big in entries, an alias bomb, or that trips a parser in
 * any other way, is a located error of its file (src/files/limits.ts).
 */
export function parseText(text: string, format: FileFormat, file: string): ParsedDocument | FileError {
  const structure = structureProblem(text, format);
  if (structure) {
    const at = positionAt(text, structure.offset);
    return { code: ERROR_CODES.limit, file, line: at.line, column: at.column, message: `refused: ${structure.message}` };
  }
  try {
    return format === 'yaml' ? parseYaml(text, file) : parseJson(text, format, file);
  } catch (error) {
    return syntaxError(file, 1, 1, `cannot parse: ${(error as Error).message}`);
  }
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
  const scan = jsonLocations(text, file);
  if (scan.duplicate) {
    const { key, at } = scan.duplicate;
    return syntaxError(file, at.line, at.column, `invalid ${format === 'json' ? 'JSON' : 'JSON5'}: the key ${quoted(key)} appears twice`);
  }
  return { value, locations: scan.locations };
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
  // uniqueKeys is checked below, in linear time (yaml's own check compares every key with every other).
  // logLevel 'error': yaml's warnings (process warnings on stderr) would quote the file; its errors are values.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: false, merge: true, logLevel: 'error' });
  const first = doc.errors[0];
  if (first) {
    const deeper = overIndentedLine(text, first);
    if (deeper !== undefined) {
      const at = lineCounter.linePos(deeper);
      return syntaxError(file, at.line, at.col, 'invalid YAML: this line is indented deeper than the key above it (the keys of one mapping start in the same column)');
    }
    const at = lineCounter.linePos(errorOffset(text, first.pos[0], first.message));
    return syntaxError(file, at.line, at.col, `invalid YAML: ${first.message.split('\n')[0]}`);
  }
  const locations = emptyLocations();
  const at = (offset: number) => {
    const p = lineCounter.linePos(offset);
    return { file, line: p.line, column: p.col };
  };
  let problem: FileError | undefined;
  let firstAlias: number | undefined;
  const walk = (node: unknown, path: (string | number)[]): void => {
    const n = node as Node | null;
    if (!n || problem) return;
    if (isAlias(n) && firstAlias === undefined) firstAlias = n.range?.[0];
    if (n.range) locations.values.set(pointer(path), at(n.range[0]));
    if (path.length > MAX_DEPTH && n.range) {
      const p = at(n.range[0]);
      problem = { code: ERROR_CODES.limit, file, line: p.line, column: p.column, message: `refused: nested more than ${MAX_DEPTH} levels deep` };
      return;
    }
    if (isMap(n)) {
      const seen = new Set<string>();
      for (const item of n.items) {
        if (!isPair(item)) continue;
        const tagged = isScalar(item.key) && item.key.value !== null && typeof item.key.value === 'object'; // !!binary
        if (isMap(item.key) || isSeq(item.key) || isAlias(item.key) || tagged) {
          // yaml would stringify it, with a process warning that quotes the key.
          const p = at((item.key as Node).range?.[0] ?? n.range?.[0] ?? 0);
          const what = isAlias(item.key) ? 'an alias' : tagged ? `a ${((item.key as Node).tag ?? 'tagged').replace('tag:yaml.org,2002:', '!!')} value` : 'a list or a mapping';
          problem = { code: ERROR_CODES.schema, file, line: p.line, column: p.column, message: `a key must be a plain string, not ${what}` };
          return;
        }
        const key = isScalar(item.key) ? String(item.key.value) : String(item.key);
        const keyNode = item.key as Node | null;
        if (seen.has(key) && key !== '<<') {
          const p = at(keyNode?.range?.[0] ?? n.range?.[0] ?? 0);
          problem = syntaxError(file, p.line, p.column, `invalid YAML: Map keys must be unique: ${quoted(key)} appears twice`);
          return;
        }
        seen.add(key);
        if (keyNode?.range) locations.keys.set(pointer([...path, key]), at(keyNode.range[0]));
        if (item.value) walk(item.value, [...path, key]);
        else if (keyNode?.range) locations.values.set(pointer([...path, key]), at(keyNode.range[0]));
      }
    } else if (isSeq(n)) {
      n.items.forEach((item, index) => walk(item, [...path, index]));
    }
  };
  walk(doc.contents, []);
  if (problem) return problem;
  if (!locations.values.has('')) locations.values.set('', { file, line: 1, column: 1 });
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: MAX_ALIASES });
  } catch (error) {
    // yaml's guard against alias and merge-key bombs ("Excessive alias count…"): the file alone fails.
    const p = lineCounter.linePos(firstAlias ?? 0);
    const why = /alias count/i.test((error as Error).message) ? `aliases expand to too many values (an alias or merge-key bomb?)` : (error as Error).message;
    return { code: ERROR_CODES.limit, file, line: p.line, column: p.col, message: `refused: ${why}` };
  }
  // An anchor whose value holds an alias of itself is a cyclic value, and aliases can nest past MAX_DEPTH:
  // every later walk of the value (interpolation, the schema) would overflow the stack.
  const loop = cycleOrDepth(value);
  if (loop) {
    let known = loop.path;
    while (known.length && !locations.values.has(pointer(known))) known = known.slice(0, -1);
    const p = locations.values.get(pointer(known)) ?? at(firstAlias ?? 0);
    const message = loop.cycle ? 'an alias that refers to a value containing it (a cycle)' : `nested more than ${MAX_DEPTH} levels deep (through aliases)`;
    return { code: ERROR_CODES.limit, file, line: p.line, column: p.column, field: fieldName(loop.path), message: `refused: ${message}` };
  }
  return { value, locations };
}

/** The path where `value` refers back to a value containing it, or nests past MAX_DEPTH; undefined if neither. */
function cycleOrDepth(value: unknown): { path: (string | number)[]; cycle: boolean } | undefined {
  const ancestors = new Set<object>();
  const path: (string | number)[] = [];
  const visit = (v: unknown): { path: (string | number)[]; cycle: boolean } | undefined => {
    if (v === null || typeof v !== 'object') return undefined;
    if (ancestors.has(v)) return { path: [...path], cycle: true };
    if (path.length > MAX_DEPTH) return { path: [...path], cycle: false };
    ancestors.add(v);
    const entries: [string | number, unknown][] = Array.isArray(v) ? v.map((item, i) => [i, item]) : Object.entries(v);
    for (const [key, item] of entries) {
      path.push(key);
      const found = visit(item);
      path.pop();
      if (found) return found;
    }
    ancestors.delete(v);
    return undefined;
  };
  return visit(value);
}

/** yaml's `maxAliasCount`: how many times aliases may be expanded in one document. */
const MAX_ALIASES = 100;

/** An unterminated quote is reported at the end of the text; point at where the quote opened. */
/**
 * `key: value` followed by a line indented deeper (`   other: x`) reads as a plain scalar over two lines
 * that is then used as a key: the yaml library reports it where the value starts, on the line above. The
 * mistake is the deeper line: the offset of its first character.
 */
function overIndentedLine(text: string, error: { code: string; pos: [number, number] }): number | undefined {
  if (error.code !== 'BLOCK_AS_IMPLICIT_KEY' && error.code !== 'MULTILINE_IMPLICIT_KEY') return undefined;
  const next = text.indexOf('\n', error.pos[0]);
  if (next < 0) return undefined;
  let offset = next + 1;
  while (text[offset] === ' ' || text[offset] === '\t') offset++;
  return offset < text.length && text[offset] !== '\n' ? offset : undefined;
}

function errorOffset(text: string, offset: number, message: string): number {
  const quote = /Missing closing (["'])quote/.exec(message)?.[1];
  if (!quote) return offset;
  const open = text.lastIndexOf(quote, Math.min(offset, text.length - 1));
  return open >= 0 ? open : offset;
}

// One job file → a JobDefinition or its errors: parse with positions, overlay the environment,
// merge `_defaults`, interpolate, validate against the schema, normalise.

import { statSync } from 'node:fs';
import path from 'node:path';
import { interpolateValue } from '../files/interpolate.ts';
import { SECRET_KEY, urlPasswords } from '../redact.ts';
import { locate, type Location, type Locations } from '../files/locations.ts';
import { formatOf, idFromFileName } from '../files/names.ts';
import { parseText, type ParsedDocument } from '../files/parse.ts';
import { agentUid, fileTrustProblem, type Ownership } from '../files/trust.ts';
import { DEFAULT_MAX_FILE_BYTES } from '../files/limits.ts';
import { readBounded, tooBig } from '../files/read-bounded.ts';
import { capErrors, nulPaths, showableMessage } from './hostile-values.ts';
import { ERROR_CODES, fieldName, type ErrorCode, type FileError } from './errors.ts';
import type { JobFile } from './job-file.ts';
import { isPlainObject, mergeDocuments, subDocument, withoutKey } from './merge.ts';
import { normalizeJob } from './normalize.ts';
import { checkAgainstSchema } from './schema.ts';
import type { JobDefinition } from './types.ts';

export interface LoadOptions {
  /** Variables for ${VAR} interpolation. */
  env: Readonly<Record<string, string | undefined>>;
  /** JOBSD_ENV / --env: selects `environments.<name>` overlays. */
  environment?: string;
  /** Zone of schedules that name none: JOBSD_TIMEZONE, else UTC. */
  defaultTimezone: string;
  /** Accept files and directories writable by others (mode o+w) or owned by another user (src/files/trust.ts). */
  allowInsecureFiles?: boolean;
  /** Larger files are refused unread (`--max-file-size`); default DEFAULT_MAX_FILE_BYTES. */
  maxFileBytes?: number;
}

export type LoadResult =
  | { ok: true; definition: JobDefinition; /** where the id is set, for duplicate-id errors */ idAt?: Location; /** where `schedule.after` is set, for chain errors */ afterAt?: Location }
  | { ok: false; errors: FileError[] };

function located(code: ErrorCode, locations: Locations, p: (string | number)[], message: string, file: string, atKey = false): FileError {
  const at = locate(locations, p, atKey);
  return { code, file: at?.file ?? file, line: at?.line, column: at?.column, field: p.length ? fieldName(p) : undefined, message };
}

/** A file's bytes, mode and owner, when the caller has read them already (the reloader, to fingerprint them). */
export interface FileContent {
  /** Empty when the file is over the size limit: it was not read. */
  bytes: Buffer;
  size: number;
  mode: number;
  uid: number;
}

/** Reads and parses a file; refuses files writable by others or owned by another user unless allowed. */
export function readDocument(file: string, options: Pick<LoadOptions, 'allowInsecureFiles' | 'maxFileBytes'>, content?: FileContent): ParsedDocument | FileError {
  const format = formatOf(file);
  if (!format) return { code: ERROR_CODES.read, file, message: 'not a job file: use .yaml, .yml, .json or .json5' };
  let text: string;
  try {
    let owner: (Ownership & { size: number }) | undefined = content;
    if (owner === undefined) {
      const stat = statSync(file); // follows symlinks: a link is judged by its target
      if (!stat.isFile()) return { code: ERROR_CODES.read, file, message: 'not a regular file' };
      owner = stat;
    }
    const refused = options.allowInsecureFiles ? undefined : fileTrustProblem(owner, agentUid(), file);
    if (refused) return { code: ERROR_CODES.insecure, file, message: refused };
    const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    if (owner.size > maxBytes) return { code: ERROR_CODES.limit, file, message: `refused: the file is ${tooBig(owner.size, maxBytes)}` };
    text = (content ? content.bytes : readBounded(file, maxBytes)).toString('utf8');
  } catch (error) {
    return { code: ERROR_CODES.read, file, message: `cannot read: ${(error as Error).message}` };
  }
  const parsed = parseText(text, format, file);
  if ('code' in parsed) return parsed;
  if (!isPlainObject(parsed.value)) {
    return { code: ERROR_CODES.schema, file, line: 1, column: 1, message: 'a job file must hold a mapping of fields (id, schedule, task, ...)' };
  }
  return parsed;
}

/** The document with its `environments.<environment>` overlay applied and `environments` removed. */
function withEnvironment(doc: ParsedDocument, environment: string | undefined): ParsedDocument {
  const overlay = environment ? subDocument(doc, ['environments', environment]) : undefined;
  const base = withoutKey(doc, 'environments');
  return overlay && isPlainObject(overlay.value) ? mergeDocuments(base, overlay) : base;
}

/** Reads `_defaults.*`; its own environment overlay is applied. */
export function loadDefaults(file: string, options: LoadOptions): ParsedDocument | FileError[] {
  const doc = readDocument(file, options);
  if ('code' in doc) return [doc];
  const errors = ['id', 'job_id']
    .filter((key) => key in (doc.value as object))
    .map((key) => located(ERROR_CODES.defaults, doc.locations, [key], 'defaults cannot set an id: every job has its own', file, true));
  return errors.length ? errors : withEnvironment(doc, options.environment);
}

/** Everything after reading: pure but for `${file:...}` references. */
export function loadDocument(file: string, doc: ParsedDocument, defaults: ParsedDocument | undefined, options: LoadOptions): LoadResult {
  let merged = withEnvironment(doc, options.environment);
  if (defaults) merged = mergeDocuments(defaults, merged);
  const dir = path.dirname(path.resolve(file));
  const fileValues: string[] = [];
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  const interpolated = interpolateValue(merged.value, {
    env: options.env,
    readFile: (p) => {
      const content = readBounded(path.resolve(dir, p), maxBytes).toString('utf8');
      fileValues.push(content.replace(/\r?\n$/, ''));
      return content;
    },
  });
  const fail = (errors: FileError[]): LoadResult => ({ ok: false, errors: capErrors(sortErrors(errors), file) });
  if (interpolated.errors.length) return fail(interpolated.errors.map((e) => located(ERROR_CODES.interpolate, merged.locations, e.path, e.message, file)));
  const secrets = [...new Set([...fileValues, ...secretValues(interpolated.value)])].filter((s) => s.length > 0);
  // Errors quote the source text of what interpolation put in (`${file:./token}`), never the value.
  const problem = (code: ErrorCode, p: readonly (string | number)[], message: string, atKey = false) =>
    located(code, merged.locations, [...p], showableMessage(message, p, interpolated.substitutions, secrets), file, atKey);

  const nul = nulPaths(interpolated.value);
  if (nul.length) return fail(nul.map((n) => problem(ERROR_CODES.nul, n.path, 'contains a NUL character', n.atKey)));
  const problems = checkAgainstSchema(interpolated.value);
  if (problems.length) return fail(problems.map((p) => problem(ERROR_CODES.schema, p.path, p.message, p.atKey)));
  const result = normalizeJob(interpolated.value as JobFile, {
    file: path.resolve(file),
    fileId: idFromFileName(path.basename(file)),
    defaultTimezone: options.defaultTimezone,
  });
  if (Array.isArray(result)) return fail(result.map((p) => problem(p.code, p.path, p.message)));
  const idAt = merged.locations.values.get('/id') ?? merged.locations.values.get('/job_id');
  const afterAt = merged.locations.values.get('/schedule/after');
  const definition = { ...result, secrets };
  return { ok: true, definition, ...(idAt ? { idAt } : {}), ...(afterAt ? { afterAt } : {}) };
}

/**
 * The string values under secret-looking keys (token, password, authorization…), and the passwords of URLs
 * (`postgres://user:password@host`), anywhere in the document.
 */
function secretValues(value: unknown, key?: string, out: string[] = []): string[] {
  if (typeof value === 'string') {
    if (key !== undefined && SECRET_KEY.test(key)) out.push(value.replace(/^Bearer\s+/i, ''), value);
    out.push(...urlPasswords(value));
  } else if (Array.isArray(value)) for (const item of value) secretValues(item, undefined, out);
  else if (value !== null && typeof value === 'object') for (const [k, v] of Object.entries(value)) secretValues(v, k, out);
  return out;
}

export function loadJobFile(file: string, defaults: ParsedDocument | undefined, options: LoadOptions, content?: FileContent): LoadResult {
  const doc = readDocument(file, options, content);
  if ('code' in doc) return { ok: false, errors: [doc] };
  return loadDocument(file, doc, defaults, options);
}

function sortErrors(errors: FileError[]): FileError[] {
  return errors.sort((a, b) => (a.file === b.file ? (a.line ?? 0) - (b.line ?? 0) || (a.column ?? 0) - (b.column ?? 0) : a.file < b.file ? -1 : 1));
}

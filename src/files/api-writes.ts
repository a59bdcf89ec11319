// Job files written through the HTTP API (PUT/DELETE /api/jobs/:id, `jobsd apply`/`jobsd delete`): the
// body is checked as a job file of the directory (with its `_defaults`, as the agent would load it), then
// written atomically as `<id>.yaml` with a first line that marks it as the API's. The API never rewrites or
// removes a file it did not write. The change goes live through the watcher like any edit.

import { closeSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import path from 'node:path';
import { listDirectory } from '../definitions/directory.ts';
import type { FileError } from '../definitions/errors.ts';
import { loadDefaults, loadDocument, type LoadOptions } from '../definitions/load.ts';
import type { JobDefinition } from '../definitions/types.ts';
import { parseText } from './parse.ts';

const MARK = '# Written by the jobsd API';
const markLine = (id: string) => `${MARK} (PUT /api/jobs/${id}): a later PUT replaces this file, DELETE /api/jobs/${id} removes it.\n`;

export type WriteOutcome =
  | { ok: true; file: string; definition: JobDefinition; created: boolean }
  | { ok: false; status: 409 | 422; message: string; errors?: FileError[] };

/** Whether the API wrote this file (its first line says so). */
export function writtenByApi(file: string): boolean {
  try {
    return readFileSync(file, 'utf8').startsWith(MARK);
  } catch {
    return false;
  }
}

/**
 * Checks `text` (YAML or JSON: JSON is YAML) as the job `id` of `dir` and writes it. `definedBy` is the file
 * that defines the id now, if any.
 */
export function writeJobFile(dir: string, id: string, text: string, format: 'yaml' | 'json', options: LoadOptions, definedBy: string | undefined): WriteOutcome {
  const file = path.join(path.resolve(dir), `${id}.yaml`);
  if (definedBy !== undefined && path.resolve(definedBy) !== file) return { ok: false, status: 409, message: `${id} is defined by ${definedBy}, which the API did not write: edit that file instead` };
  const exists = existsSync(file);
  if (exists && !writtenByApi(file)) return { ok: false, status: 409, message: `${file} was not written by the API: edit it there, or remove it first` };
  const parsed = parseText(text, format, file);
  if ('code' in parsed) return { ok: false, status: 422, message: 'the body is not a valid job file', errors: [parsed] };
  let defaults;
  const defaultsFile = listDirectory(dir).defaults;
  if (defaultsFile) {
    const loaded = loadDefaults(defaultsFile, options);
    if (Array.isArray(loaded)) return { ok: false, status: 422, message: 'the directory\'s _defaults is in error: fix it first', errors: loaded };
    defaults = loaded;
  }
  const result = loadDocument(file, parsed, defaults, options);
  if (!result.ok) return { ok: false, status: 422, message: 'the body is not a valid job file', errors: result.errors };
  if (result.definition.id !== id) return { ok: false, status: 422, message: `the body's id is ${result.definition.id}, not ${id}: leave id out, or PUT it to /api/jobs/${result.definition.id}` };
  const tmp = path.join(path.dirname(file), `.${id}.yaml.jobsd-tmp`);
  try {
    const fd = openSync(tmp, 'w', 0o644);
    try {
      writeSync(fd, markLine(id) + (text.endsWith('\n') ? text : `${text}\n`));
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmp, file);
  } catch (error) {
    try {
      unlinkSync(tmp);
    } catch {
      // nothing was written
    }
    return { ok: false, status: 409, message: notWritable(dir, error) };
  }
  return { ok: true, file, definition: result.definition, created: !exists };
}

export type DeleteOutcome = { ok: true; file: string } | { ok: false; status: 404 | 409; message: string };

export function deleteJobFile(dir: string, id: string, definedBy: string | undefined): DeleteOutcome {
  const file = path.join(path.resolve(dir), `${id}.yaml`);
  if (definedBy !== undefined && path.resolve(definedBy) !== file) return { ok: false, status: 409, message: `${id} is defined by ${definedBy}, which the API did not write: remove that file instead` };
  if (!existsSync(file)) return { ok: false, status: 404, message: `no job "${id}" written by the API` };
  if (!writtenByApi(file)) return { ok: false, status: 409, message: `${file} was not written by the API: remove it there` };
  try {
    unlinkSync(file);
  } catch (error) {
    return { ok: false, status: 409, message: notWritable(dir, error) };
  }
  return { ok: true, file };
}

function notWritable(dir: string, error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'EROFS' || code === 'EACCES' || code === 'EPERM') return `the jobs directory ${dir} is read-only for the agent (${code}: a ConfigMap, or its permissions): change the job where the directory comes from`;
  return `could not write in the jobs directory ${dir}: ${(error as Error).message}`;
}

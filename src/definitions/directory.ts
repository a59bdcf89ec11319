// A jobs directory → definitions and errors, with `_defaults` and the duplicate-id rule.

import { readdirSync, statSync, type Dirent } from 'node:fs';
import path from 'node:path';
import { isDefaultsFile, isJobFileName } from '../files/names.ts';
import type { ParsedDocument } from '../files/parse.ts';
import { agentUid, directoryTrustProblem } from '../files/trust.ts';
import { chainErrors } from './chains.ts';
import { ERROR_CODES, type FileError } from './errors.ts';
import { loadDefaults, loadJobFile, type LoadOptions, type LoadResult } from './load.ts';
import type { JobDefinition } from './types.ts';

export interface DirectoryListing {
  /** Job files, sorted by name, joined to the directory as given. */
  jobs: string[];
  defaults?: string;
}

export function listDirectory(dir: string): DirectoryListing {
  const entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const isFile = (entry: Dirent) => {
    if (entry.isFile()) return true;
    if (!entry.isSymbolicLink()) return false;
    try {
      return statSync(path.join(dir, entry.name)).isFile(); // follows symlinks (ConfigMap mounts)
    } catch {
      return false;
    }
  };
  const defaults = entries.find((e) => isDefaultsFile(e.name) && isFile(e));
  return {
    jobs: entries.filter((e) => isJobFileName(e.name) && isFile(e)).map((e) => path.join(dir, e.name)),
    ...(defaults ? { defaults: path.join(dir, defaults.name) } : {}),
  };
}

/** The error that stops every file of a jobs directory from loading (writable by others, another owner), if any. */
export function directoryRefusal(dir: string, options: Pick<LoadOptions, 'allowInsecureFiles'>): FileError | undefined {
  if (options.allowInsecureFiles) return undefined;
  let stat;
  try {
    stat = statSync(dir); // follows symlinks: a linked directory is judged by its target
  } catch {
    return undefined; // listing it reports why it cannot be read
  }
  const problem = directoryTrustProblem(stat, agentUid(), dir);
  return problem ? { code: ERROR_CODES.insecure, file: dir, message: problem } : undefined;
}

export interface FileOutcome {
  file: string;
  result: LoadResult;
}

/** The first file to claim an id keeps it; later ones become errors naming both files. */
export function claimIds(outcomes: readonly FileOutcome[]): FileOutcome[] {
  const owner = new Map<string, string>();
  return outcomes.map((outcome) => {
    const { result, file } = outcome;
    if (!result.ok) return outcome;
    const first = owner.get(result.definition.id);
    if (first === undefined) {
      owner.set(result.definition.id, file);
      return outcome;
    }
    const error: FileError = {
      code: ERROR_CODES.duplicateId,
      file,
      ...(result.idAt ? { line: result.idAt.line, column: result.idAt.column } : {}),
      field: 'id',
      message: `"${result.definition.id}" is already the id of ${first}: set a different id in one of the two files`,
    };
    return { file, result: { ok: false, errors: [error] } };
  });
}

/** A chained job whose `after` names no job, or closes a cycle, becomes its file's error (src/definitions/chains.ts). */
export function withChainErrors(outcomes: readonly FileOutcome[]): FileOutcome[] {
  const loaded = outcomes.flatMap((o) => (o.result.ok ? [o.result] : []));
  const afterAt = new Map(loaded.map((r) => [r.definition, r.afterAt]));
  const errors = chainErrors(loaded.map((r) => r.definition), (d) => afterAt.get(d));
  if (errors.size === 0) return [...outcomes];
  return outcomes.map((o) => (o.result.ok && errors.has(o.result.definition.id) ? { file: o.file, result: { ok: false, errors: [errors.get(o.result.definition.id)!] } } : o));
}

export interface DirectoryLoad {
  definitions: JobDefinition[];
  errors: FileError[];
  outcomes: FileOutcome[];
}

export function loadDirectory(dir: string, options: LoadOptions): DirectoryLoad {
  const refused = directoryRefusal(dir, options);
  if (refused) return { definitions: [], errors: [refused], outcomes: [] };
  let listing: DirectoryListing;
  try {
    listing = listDirectory(dir);
  } catch (error) {
    const e: FileError = { code: ERROR_CODES.read, file: dir, message: `cannot read the jobs directory: ${(error as Error).message}` };
    return { definitions: [], errors: [e], outcomes: [] };
  }
  const errors: FileError[] = [];
  let defaults: ParsedDocument | undefined;
  if (listing.defaults) {
    const loaded = loadDefaults(listing.defaults, options);
    if (Array.isArray(loaded)) errors.push(...loaded);
    else defaults = loaded;
  }
  const outcomes = withChainErrors(claimIds(listing.jobs.map((file) => ({ file, result: loadJobFile(file, defaults, options) }))));
  const definitions: JobDefinition[] = [];
  for (const { result } of outcomes) {
    if (result.ok) definitions.push(result.definition);
    else errors.push(...result.errors);
  }
  return { definitions, errors, outcomes };
}

/** One job file, loaded as the agent would: with the `_defaults` of its own directory. */
export function loadFileWithDefaults(file: string, options: LoadOptions): LoadResult {
  let defaultsFile: string | undefined;
  try {
    defaultsFile = listDirectory(path.dirname(file)).defaults;
  } catch {
    defaultsFile = undefined; // the file's own read reports a missing directory
  }
  const defaults = defaultsFile ? loadDefaults(defaultsFile, options) : undefined;
  if (Array.isArray(defaults)) return { ok: false, errors: defaults };
  return loadJobFile(file, defaults, options);
}

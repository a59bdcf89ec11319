// Reloading job files into the catalog: a file is parsed again only when its bytes, its o+w bit and
// owner, or the `_defaults` it is merged with changed. A `_defaults` change (or a ConfigMap `..data`
// swap, or an event on the directory itself) re-checks every job file. A jobs directory that others
// can write to (src/files/trust.ts) loads nothing new until it is fixed; what was loaded stays.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { directoryRefusal, listDirectory, type DirectoryListing } from '../definitions/directory.ts';
import { formatFileError, type FileError } from '../definitions/errors.ts';
import { loadDefaults, loadJobFile, type FileContent, type LoadOptions } from '../definitions/load.ts';
import { isDefaultsFile, isJobFileName } from '../files/names.ts';
import type { ParsedDocument } from '../files/parse.ts';
import { createOffThreadLoader, OFF_THREAD_BYTES, type OffThreadLoader } from '../definitions/off-thread.ts';
import { DEFAULT_MAX_FILE_BYTES } from '../files/limits.ts';
import type { Logger } from '../log.ts';
import type { Catalog, CatalogChange, CatalogUpdate } from './catalog.ts';
import { changeFields } from './changes.ts';
import { listSuspects, readFingerprinted } from './file-check.ts';

/** A first load of more jobs than this logs one summary line instead of a line per job. */
const QUIET_FIRST_LOAD = 100;

export interface ReloaderOptions {
  dir: string;
  options: LoadOptions;
  catalog: Catalog;
  /** Called after a batch that changed a definition or the set of file errors. */
  onChanges: (changes: CatalogChange[], context: { errors: FileError[] }) => void;
  logger: Pick<Logger, 'debug' | 'info' | 'warn' | 'error'>;
  /** Where files of OFF_THREAD_BYTES or more are loaded; default a worker thread of its own, started when needed. */
  offThread?: OffThreadLoader;
}

export interface ReloadStats {
  /** Job files parsed (read, interpolated, validated): unchanged files are not. */
  parsed: number;
  /** Job files whose bytes were read and fingerprinted. */
  checked: number;
  /** Full re-checks of the directory. */
  rescans: number;
  /** Job files sent to the worker thread (big ones): their results are applied when they come back. */
  offThread: number;
}

export interface Reloader {
  /**
   * Lists the directory and re-checks every file; catalog files no longer there are gone. With
   * `trustStat` (the periodic safety-net rescan), a file whose inode, size, mode, mtime and ctime
   * are those of its last read is not read again.
   */
  loadAll(options?: { trustStat?: boolean }): CatalogChange[];
  /** Re-checks the given paths (from the watcher); falls back to loadAll() when they call for it. */
  reload(paths: readonly string[]): CatalogChange[];
  /**
   * The periodic safety-net rescan: loadAll({ trustStat: true }), with the directory listed and the files
   * stat'ed in slices that give the event loop back (100,000 files take half a second to stat: the ticker's
   * timers must not wait for that). Only the files whose stat changed, and those gone from the listing, are
   * then checked, at once. A rescan under way is shared.
   */
  recheck(): Promise<CatalogChange[]>;
  readonly stats: ReloadStats;
  /** Why the directory cannot be read (it vanished, was unmounted), while that lasts. */
  unreadable(): string | undefined;
}

interface DefaultsState {
  /** Part of every job's fingerprint: `none`, or the defaults file's own fingerprint. */
  key: string;
  doc?: ParsedDocument;
  /** Set while the defaults file is broken: every job gets these errors, last good versions stay. */
  errors?: FileError[];
  file?: string;
}

export function createReloader({ dir, options, catalog, onChanges, logger, offThread = createOffThreadLoader() }: ReloaderOptions): Reloader {
  const root = path.resolve(dir);
  const stats: ReloadStats = { parsed: 0, checked: 0, rescans: 0, offThread: 0 };
  let unreadable: string | undefined;
  /** Big files being loaded off the main thread, with the fingerprint being loaded. */
  const inFlight = new Map<string, string>();
  const maxBytes = options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
  let defaults: DefaultsState | undefined;
  /** Error lines logged and still current: each is logged once per change of its text. */
  let logged = new Map<string, string>();

  const refreshDefaults = (file: string | undefined): CatalogUpdate[] => {
    const updates: CatalogUpdate[] = [];
    if (defaults?.errors && defaults.file && defaults.file !== file) updates.push({ file: defaults.file, result: 'gone' });
    if (!file) {
      defaults = { key: 'none' };
      return updates;
    }
    const seen = readFingerprinted(file, '', maxBytes);
    const key = seen.kind === 'file' ? seen.hash : 'unreadable';
    if (defaults?.file === file && defaults.key === key) return updates;
    const loaded = loadDefaults(file, options);
    if (Array.isArray(loaded)) {
      defaults = { key, errors: loaded, file };
      updates.push({ file, result: { ok: false, errors: loaded }, hash: key });
    } else {
      if (defaults?.errors && defaults.file === file) updates.push({ file, result: 'gone' });
      defaults = { key, doc: loaded, file };
    }
    return updates;
  };

  /** The stat signature of each job file at its last read (for `trustStat` rescans). */
  const signatures = new Map<string, string>();

  /** The catalog update for one job file, or nothing when its fingerprint is unchanged. */
  const check = (file: string, state: DefaultsState, trustStat = false): CatalogUpdate | undefined => {
    const seen = readFingerprinted(file, state.key, maxBytes, trustStat && catalog.has(file) ? signatures.get(file) : undefined);
    if (seen.kind === 'same') return undefined;
    stats.checked++;
    if (seen.kind === 'file') signatures.set(file, seen.signature);
    else signatures.delete(file);
    if (seen.kind === 'gone') {
      inFlight.delete(file);
      return catalog.has(file) ? { file, result: 'gone' } : undefined;
    }
    if (seen.kind === 'file' && catalog.hashOf(file) === seen.hash) return undefined;
    const hash = seen.kind === 'file' ? { hash: seen.hash } : {};
    if (state.errors) return { file, result: { ok: false, errors: state.errors }, ...hash };
    stats.parsed++;
    if (seen.kind === 'file' && seen.content.size >= OFF_THREAD_BYTES && seen.content.size <= maxBytes) {
      loadOffThread(file, state, seen.hash, seen.content);
      return undefined;
    }
    return { file, result: loadJobFile(file, state.doc, options, seen.kind === 'file' ? seen.content : undefined), ...hash };
  };

  /** A big file: parsed in the worker thread, applied when it comes back unless the file changed meanwhile. */
  const loadOffThread = (file: string, state: DefaultsState, hash: string, content: FileContent) => {
    if (inFlight.get(file) === hash) return;
    inFlight.set(file, hash);
    stats.offThread++;
    void offThread.load(file, state.doc, options, content).then((result) => {
      if (inFlight.get(file) !== hash) return; // changed or gone meanwhile: its newer version is on its way
      inFlight.delete(file);
      commit([{ file, result, hash }]);
    });
  };

  /**
   * Applies a batch and logs it: a line per changed job, but a first load of more than
   * QUIET_FIRST_LOAD jobs logs one summary line (10,000 `job added` lines say nothing more, and
   * writing them was a large part of the start time).
   */
  const commit = (updates: CatalogUpdate[], first = false): CatalogChange[] => {
    const changes = updates.length ? catalog.apply(updates) : [];
    const quiet = first && changes.length > QUIET_FIRST_LOAD;
    for (const c of changes) {
      const fields = { job: c.id, file: (c.definition ?? c.previous)?.file, ...(c.kind === 'changed' && c.previous && c.definition ? changeFields(c.previous, c.definition) : {}) };
      if (quiet) logger.debug(fields, `job ${c.kind}`);
      else logger.info(fields, `job ${c.kind}`);
    }
    const errors = catalog.fileErrors();
    if (first) logger.info({ dir, jobs: catalog.size, file_errors: errors.length }, 'jobs loaded');
    const current = new Map<string, string>();
    for (const e of errors) {
      const text = formatFileError(e);
      const key = `${e.code} ${text}`;
      current.set(key, e.file);
      if (!logged.has(key)) logger.warn({ file: e.file, line: e.line, field: e.field, code: e.code }, text);
    }
    // A file whose errors are all gone: fixed (it loads now), or deleted.
    const inError = new Set(current.values());
    for (const file of new Set(logged.values())) {
      if (inError.has(file)) continue;
      if (catalog.has(file)) logger.info({ file }, 'file error fixed: the file loads');
      else logger.info({ file }, 'file error cleared: the file is gone');
    }
    const errorsChanged = current.size !== logged.size || [...current.keys()].some((k) => !logged.has(k));
    logged = current;
    if (changes.length || errorsChanged) {
      try {
        onChanges(changes, { errors });
      } catch (error) {
        logger.error({ err: error }, 'applying job changes failed');
      }
    }
    return changes;
  };

  const loadAll = ({ trustStat = false }: { trustStat?: boolean } = {}): CatalogChange[] => {
    const first = stats.rescans === 0;
    stats.rescans++;
    let listing: DirectoryListing;
    try {
      listing = listDirectory(dir);
    } catch (error) {
      // An unmounted or vanished directory must not stop every job: keep what is loaded.
      const code = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
      const now = `the jobs directory ${dir} cannot be read (${code}): keeping the ${catalog.size} jobs loaded so far`;
      if (now !== unreadable) logger.error({ dir, code }, now);
      unreadable = now;
      return [];
    }
    if (unreadable) logger.info({ dir }, 'the jobs directory can be read again');
    unreadable = undefined;
    // A directory others could write to loads nothing new (a planted job must not run); what is loaded stays.
    const refused = directoryRefusal(dir, options);
    if (refused) return commit([{ file: dir, result: { ok: false, errors: [refused] } }], first);
    const updates = refreshDefaults(listing.defaults);
    if (catalog.has(dir)) updates.push({ file: dir, result: 'gone' });
    const state = defaults ?? { key: 'none' };
    const present = new Set(listing.jobs);
    for (const file of listing.jobs) {
      const update = check(file, state, trustStat);
      if (update) updates.push(update);
    }
    for (const file of catalog.fileNames()) {
      if (!present.has(file) && file !== state.file && file !== dir) updates.push({ file, result: 'gone' });
    }
    for (const file of signatures.keys()) if (!present.has(file)) signatures.delete(file);
    for (const file of inFlight.keys()) if (!present.has(file)) inFlight.delete(file);
    return commit(updates, first);
  };

  const reload = (paths: readonly string[]): CatalogChange[] => {
    // Files reported gone with their directory are not removed jobs: the directory is unreadable.
    if (!defaults || !existsSync(dir) || catalog.has(dir) || directoryRefusal(dir, options)) return loadAll();
    const files = new Set<string>();
    for (const p of paths) {
      const rel = path.relative(root, path.resolve(root, p));
      const [first = '', ...rest] = rel.split(path.sep);
      if (rel === '' || (first.startsWith('..') && first !== '..') || isDefaultsFile(first)) return loadAll();
      if (first === '..' || rest.length || !isJobFileName(first)) continue; // outside, or a subdirectory
      files.add(path.join(dir, first));
    }
    const state = defaults;
    const updates: CatalogUpdate[] = [];
    for (const file of files) {
      const update = check(file, state);
      if (update) updates.push(update);
    }
    return commit(updates);
  };

  let rechecking: Promise<CatalogChange[]> | undefined;
  const recheck = (): Promise<CatalogChange[]> =>
    (rechecking ??= (async () => {
      const state = defaults;
      // Anything out of the ordinary is the full check's to handle, at once.
      if (!state || unreadable || !existsSync(dir) || catalog.has(dir) || directoryRefusal(dir, options)) return loadAll({ trustStat: true });
      let found;
      try {
        found = await listSuspects(dir, state.key, (file) => (catalog.has(file) ? signatures.get(file) : undefined));
      } catch {
        return loadAll({ trustStat: true }); // it could not be listed: loadAll says why
      }
      if (defaults !== state) return []; // _defaults changed meanwhile: every file was checked again since
      const seen = found.defaultsFile === undefined ? undefined : readFingerprinted(found.defaultsFile, '', maxBytes);
      const key = seen === undefined ? 'none' : seen.kind === 'file' ? seen.hash : 'unreadable'; // as refreshDefaults keys it
      if (found.defaultsFile !== state.file || key !== state.key) return loadAll({ trustStat: true }); // every file is checked again
      stats.rescans++;
      const updates: CatalogUpdate[] = [];
      for (const file of found.suspects) {
        const update = check(file, state, true);
        if (update) updates.push(update);
      }
      // Gone from the listing, or added since it was taken (and loaded by an event): check() tells which.
      for (const file of catalog.fileNames()) {
        if (found.present.has(file) || file === state.file || file === dir) continue;
        const update = check(file, state);
        if (update) updates.push(update);
      }
      for (const file of signatures.keys()) if (!found.present.has(file) && !catalog.has(file)) signatures.delete(file);
      return commit(updates);
    })().finally(() => (rechecking = undefined)));

  return { loadAll, reload, recheck, stats, unreadable: () => unreadable };
}

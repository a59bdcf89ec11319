// Reloading job files into the catalog: only files whose bytes (or whose _defaults) changed are
// parsed again. A broken _defaults keeps its last good version, as a broken job file does.

import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { listDirectory } from '../definitions/directory.ts';
import { formatFileError, type FileError } from '../definitions/errors.ts';
import { loadDefaults, loadJobFile, type LoadOptions, type LoadResult } from '../definitions/load.ts';
import { isDefaultsFile, isJobFileName } from '../files/names.ts';
import type { ParsedDocument } from '../files/parse.ts';
import type { Logger } from '../log.ts';
import type { Catalog, CatalogChange } from './catalog.ts';

export interface ReloaderOptions {
  dir: string;
  options: LoadOptions;
  catalog: Catalog;
  onChanges: (changes: CatalogChange[]) => void;
  logger: Logger;
}

export interface Reloader {
  /** Re-checks every file of the directory (start, ConfigMap swaps, `_defaults` edits, the safety net). */
  loadAll(): CatalogChange[];
  /** Re-checks the given paths only. */
  reload(paths: readonly string[]): CatalogChange[];
  /** Files parsed so far (unchanged files are not). */
  readonly stats: { parsed: number };
}

/** Bytes and mode: the mode matters because a file writable by others is refused. */
function fingerprint(file: string): string | undefined {
  try {
    const stat = statSync(file);
    if (!stat.isFile()) return undefined;
    return createHash('sha256').update(readFileSync(file)).update(String(stat.mode & 0o777)).digest('hex');
  } catch {
    return undefined;
  }
}

export function createReloader({ dir, options, catalog, onChanges, logger }: ReloaderOptions): Reloader {
  const prints = new Map<string, string>();
  const logged = new Map<string, string>();
  const stats = { parsed: 0 };
  let defaults: { file: string; print: string; doc: ParsedDocument | undefined } | undefined;

  const load = (file: string): LoadResult => {
    stats.parsed++;
    return loadJobFile(file, defaults?.doc, options);
  };

  const report = (changes: CatalogChange[]): CatalogChange[] => {
    for (const c of changes) {
      const file = (c.definition ?? c.previous)?.file;
      logger.info({ job: c.id, file }, `job ${c.kind}`);
    }
    const byFile = new Map<string, FileError[]>();
    for (const e of catalog.fileErrors()) byFile.set(e.file, [...(byFile.get(e.file) ?? []), e]);
    for (const [file, errors] of byFile) {
      const text = errors.map(formatFileError).join('\n');
      if (logged.get(file) === text) continue;
      logged.set(file, text);
      const running = catalog.fileStatuses().find((f) => f.file === file)?.runningHash !== undefined;
      for (const e of errors) {
        logger.warn({ file: e.file, line: e.line, field: e.field, code: e.code, last_good_kept: running }, formatFileError(e));
      }
    }
    for (const file of logged.keys()) if (!byFile.has(file)) logged.delete(file);
    if (changes.length) onChanges(changes);
    return changes;
  };

  /** True when the defaults changed, so that every job must be parsed again. */
  const refreshDefaults = (file: string | undefined): boolean => {
    if (!file) {
      const had = defaults !== undefined;
      defaults = undefined;
      return had;
    }
    const print = fingerprint(file);
    if (!print || (defaults?.file === file && defaults.print === print)) return false;
    const loaded = loadDefaults(file, options);
    if (Array.isArray(loaded)) {
      for (const e of loaded) logger.warn({ file: e.file, line: e.line, field: e.field, code: e.code, last_good_kept: defaults !== undefined }, formatFileError(e));
      if (defaults) defaults.print = print; // keep the last good document; log this version's errors once
      else defaults = { file, print, doc: undefined };
      return false;
    }
    defaults = { file, print, doc: loaded };
    return true;
  };

  const loadAll = (): CatalogChange[] => {
    let listing;
    try {
      listing = listDirectory(dir);
    } catch (error) {
      logger.error({ dir, err: error }, 'cannot read the jobs directory; keeping the jobs loaded so far');
      return [];
    }
    const all = refreshDefaults(listing.defaults);
    const present = new Set(listing.jobs);
    const updates: { file: string; result: LoadResult | 'gone' }[] = [];
    for (const file of listing.jobs) {
      const print = fingerprint(file);
      if (!print) continue;
      if (!all && prints.get(file) === print) continue;
      prints.set(file, print);
      updates.push({ file, result: load(file) });
    }
    for (const file of [...prints.keys()]) {
      if (present.has(file)) continue;
      prints.delete(file);
      updates.push({ file, result: 'gone' });
    }
    return report(catalog.apply(updates));
  };

  const reload = (paths: readonly string[]): CatalogChange[] => {
    const names = paths.map((p) => path.basename(p));
    if (names.some((n) => isDefaultsFile(n) || n.startsWith('..')) || paths.some((p) => path.resolve(p) === path.resolve(dir))) return loadAll();
    const updates: { file: string; result: LoadResult | 'gone' }[] = [];
    for (const p of new Set(paths)) {
      if (!isJobFileName(path.basename(p))) continue;
      const file = path.join(dir, path.basename(p));
      const print = fingerprint(file);
      if (print === undefined) {
        if (prints.delete(file)) updates.push({ file, result: 'gone' });
        continue;
      }
      if (prints.get(file) === print) continue;
      prints.set(file, print);
      updates.push({ file, result: load(file) });
    }
    return report(catalog.apply(updates));
  };

  return { loadAll, reload, stats };
}

// Watching the jobs directory with chokidar 6 (one watch for the directory, symlinks followed).
// add / change / unlink events are collected for `debounceMs` and handed over as one batch of
// unique paths. Anything touching the Kubernetes ConfigMap machinery (`..data`), a directory
// event, or the `rescanMs` timer (the safety net for lost events and NFS) asks for a full rescan
// instead, which covers every path of that window.
//
// What chokidar 6 reports for a ConfigMap swap (new `..2026_…` dir, `..data_tmp` renamed over
// `..data`, old dir deleted), with every other `..` entry ignored: native backend `unlinkDir ..data`,
// `addDir ..data` and `change` for EVERY symlinked job file (the followed target is a new inode,
// even when its bytes are the same); polling backend only the `change` events. A key removed from
// the ConfigMap leaves a dangling link until the kubelet deletes it (`unlink`). Pinned in
// test/catalog/watch-reload.test.ts.

import path from 'node:path';
import { watch, type ChokidarOptions } from 'chokidar';
import { isDefaultsFile, isJobFileName } from './names.ts';

export interface WatchOptions {
  /** Stat polling instead of inotify (NFS and other filesystems without change notification). */
  poll?: boolean;
  /** Polling period; default 500 ms. */
  pollIntervalMs?: number;
  /** Events are collected this long before one callback; default 25 ms. */
  debounceMs?: number;
  /** A full rescan is requested this often; default 60 s. */
  rescanMs?: number;
  onPaths(paths: string[]): void;
  /** `periodic`: only the safety-net timer asked (no event since the last flush called for it). */
  onRescan(reason: 'event' | 'periodic'): void;
  onError(error: unknown): void;
}

export interface DirectoryWatch {
  /** Resolves when the initial scan is done: later changes are reported. */
  ready: Promise<void>;
  /** Stops watching; pending events are dropped. */
  close(): Promise<void>;
}

/** The `..` entry that a ConfigMap swap replaces; other `..` entries are its timestamped dirs. */
const CONFIGMAP_LINK = '..data';

/** The chokidar options of watchDirectory (exported to pin chokidar's behaviour in a test). */
export function chokidarOptions(dir: string, options: Pick<WatchOptions, 'poll' | 'pollIntervalMs'>): ChokidarOptions {
  const root = path.resolve(dir);
  return {
    ignoreInitial: true,
    depth: 0,
    followSymlinks: true,
    // In the directory itself, only job files, defaults files and `..data` (a ConfigMap swap) matter.
    // Ignoring the rest matters for speed as well as noise: chokidar 6 answers an event for a name
    // it does not track, and that is gone by the time it looks (the temp file of a write-then-rename),
    // by reading the whole directory again (reconcile.js, reconcileNativeTrigger): with 10,000 files,
    // most of an edit's reload time. The timestamped ConfigMap dirs and `..data_tmp` are ignored too.
    ignored: (p: string) => {
      const resolved = path.resolve(p);
      if (path.dirname(resolved) !== root) return false;
      const name = path.basename(resolved);
      return name !== CONFIGMAP_LINK && !isJobFileName(name) && !isDefaultsFile(name);
    },
    // An editor's delete-then-write within 100 ms is one `change`, never a remove + add of the job.
    atomic: 100,
    ...(options.poll ? { backend: 'polling' as const, pollingInterval: options.pollIntervalMs ?? 500 } : {}),
  };
}

export function watchDirectory(dir: string, options: WatchOptions): DirectoryWatch {
  const root = path.resolve(dir);
  const debounceMs = options.debounceMs ?? 25;
  let pending = new Set<string>();
  let rescan: 'event' | 'periodic' | undefined;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const report = (error: unknown) => {
    try {
      options.onError(error);
    } catch {
      // the error handler itself failed: nothing left to tell
    }
  };
  const flush = () => {
    timer = undefined;
    if (closed) return;
    const paths = [...pending];
    const full = rescan;
    pending = new Set();
    rescan = undefined;
    try {
      if (full) options.onRescan(full);
      else if (paths.length) options.onPaths(paths);
    } catch (error) {
      report(error);
    }
  };
  // A fixed window from the first event, not a trailing debounce: a busy directory cannot starve it.
  const schedule = () => {
    if (!closed) timer ??= setTimeout(flush, debounceMs);
  };

  const note = (event: string, file: string) => {
    const rel = path.relative(root, path.resolve(root, file));
    const first = rel.split(path.sep)[0] ?? '';
    if (first === '..') return; // above the directory (chokidar watches the parent for the root)
    if (rel === '' || first.startsWith('..') || event === 'addDir' || event === 'unlinkDir') rescan = 'event';
    else if (event === 'add' || event === 'change' || event === 'unlink') pending.add(file);
    else return;
    schedule();
  };

  const watcher = watch(root, chokidarOptions(root, options));
  watcher.on('all', (event, file) => note(event, file));
  watcher.on('error', report);
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));

  const safetyNet = setInterval(() => {
    rescan ??= 'periodic';
    schedule();
  }, options.rescanMs ?? 60_000);
  safetyNet.unref();

  let closing: Promise<void> | undefined;
  return {
    ready,
    close: () =>
      (closing ??= (async () => {
        closed = true;
        clearInterval(safetyNet);
        if (timer) clearTimeout(timer);
        timer = undefined;
        await watcher.close();
      })()),
  };
}

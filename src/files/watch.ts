// Watching the jobs directory (chokidar 6: one inotify watch for the directory). Events are
// collected for `debounceMs` and handed over as one batch of paths; anything that touches the
// Kubernetes ConfigMap machinery (`..data`, `..2026_…`) or the directory itself asks for a full
// rescan instead, as does a timer every `rescanMs` (the safety net for lost events and NFS).

import path from 'node:path';
import { watch } from 'chokidar';

export interface WatchOptions {
  poll?: boolean;
  debounceMs?: number;
  rescanMs?: number;
  onPaths: (paths: string[]) => void;
  onRescan: () => void;
  onError: (error: unknown) => void;
}

export interface DirectoryWatch {
  ready: Promise<void>;
  close: () => Promise<void>;
}

export function watchDirectory(dir: string, options: WatchOptions): DirectoryWatch {
  const debounceMs = options.debounceMs ?? 25;
  const root = path.resolve(dir);
  let pending = new Set<string>();
  let rescan = false;
  let timer: NodeJS.Timeout | undefined;
  const flush = () => {
    timer = undefined;
    const paths = [...pending];
    const full = rescan;
    pending = new Set();
    rescan = false;
    try {
      if (full) options.onRescan();
      else if (paths.length) options.onPaths(paths);
    } catch (error) {
      options.onError(error);
    }
  };
  const note = (file: string) => {
    const name = path.basename(file);
    if (path.resolve(file) === root || name.startsWith('..')) rescan = true;
    else pending.add(file);
    timer ??= setTimeout(flush, debounceMs);
  };
  const watcher = watch(dir, {
    ignoreInitial: true,
    depth: 0,
    followSymlinks: true,
    atomic: false, // the debounce covers editors' delete-and-rename saves without chokidar's 100 ms delay
    ...(options.poll ? { usePolling: true, interval: 500 } : {}),
  });
  watcher.on('all', (_event, file) => note(file));
  watcher.on('error', (error) => options.onError(error));
  const ready = new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  const safetyNet = setInterval(() => {
    rescan = true;
    timer ??= setTimeout(flush, 0);
  }, options.rescanMs ?? 60_000);
  safetyNet.unref();
  return {
    ready,
    close: async () => {
      clearInterval(safetyNet);
      if (timer) clearTimeout(timer);
      await watcher.close();
    },
  };
}

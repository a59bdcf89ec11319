// Loading big job files in a worker thread, so that parsing a 1 MiB file (50–150 ms of YAML or JSON5)
// never delays the ticker's timers. One thread, started when the first big file comes and kept while the
// process lives (unref'd); its heap is capped and each file has a time limit, so a file that would exhaust
// memory or take seconds fails alone, as a located error, and the thread is started again for the next.
import { Worker } from 'node:worker_threads';
import { formatBytes } from '../files/read-bounded.ts';
import { ERROR_CODES } from './errors.ts';
import type { FileContent, LoadOptions, LoadResult } from './load.ts';
import type { LoadReply, LoadRequest } from './load-thread.ts';
import type { ParsedDocument } from '../files/parse.ts';

/** Files at least this big are loaded off the main thread (a 32 KiB file parses in about 2 ms). */
export const OFF_THREAD_BYTES = 32 * 1024;
const HEAP_MB = 256;
const TIME_LIMIT_MS = 10_000;

export interface OffThreadLoader {
  load(file: string, defaults: ParsedDocument | undefined, options: LoadOptions, content: FileContent): Promise<LoadResult>;
  close(): Promise<void>;
}

export function createOffThreadLoader(): OffThreadLoader {
  let worker: Worker | undefined;
  let sequence = 0;
  const pending = new Map<number, { file: string; resolve: (r: LoadResult) => void; timer: NodeJS.Timeout }>();

  const refused = (file: string, message: string): LoadResult => ({ ok: false, errors: [{ code: ERROR_CODES.limit, file, message: `refused: ${message}` }] });
  const settle = (id: number, result: LoadResult) => {
    const entry = pending.get(id);
    if (!entry) return;
    pending.delete(id);
    clearTimeout(entry.timer);
    entry.resolve(result);
  };
  /** The thread died (out of memory, terminated): every file it held fails with `why`. */
  const lost = (dead: Worker, why: string) => {
    if (worker === dead) worker = undefined;
    for (const [id, entry] of pending) settle(id, refused(entry.file, why));
  };
  const thread = (): Worker => {
    if (worker) return worker;
    const started = new Worker(new URL('./load-thread.ts', import.meta.url), { name: 'jobsd file loader', resourceLimits: { maxOldGenerationSizeMb: HEAP_MB } });
    started.unref(); // a load in flight does not keep the process alive
    started.on('message', (reply: LoadReply) => settle(reply.id, reply.result));
    started.on('error', (err) => {
      const oom = (err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
      lost(started, oom ? `loading it needed more than ${HEAP_MB} MB of memory` : `the file loader failed: ${err.message}`);
    });
    started.on('exit', () => lost(started, 'the file loader stopped before it was loaded'));
    worker = started;
    return started;
  };

  return {
    load(file, defaults, options, content) {
      return new Promise((resolve) => {
        const id = ++sequence;
        const current = thread();
        const timer = setTimeout(() => {
          settle(id, refused(file, `loading it took more than ${TIME_LIMIT_MS / 1000} s (${formatBytes(content.size)})`));
          void current.terminate(); // the others it held fail too, and are loaded again at the next change
        }, TIME_LIMIT_MS);
        timer.unref();
        pending.set(id, { file, resolve, timer });
        const request: LoadRequest = { id, file, ...(defaults ? { defaults } : {}), options: { ...options, env: { ...options.env } }, content };
        current.postMessage(request);
      });
    },
    async close() {
      const current = worker;
      worker = undefined;
      if (current) await current.terminate();
    },
  };
}

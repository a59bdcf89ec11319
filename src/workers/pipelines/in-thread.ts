// Runs a pipeline attempt in a worker thread (thread.ts) and relays its logs to the run's logger.
import { Worker } from 'node:worker_threads';
import { buildResult, formatMs, runFields, type RunContext, type RunResult } from '../result.ts';
import type { PipelineJob } from './run.ts';
import type { ThreadInput, ThreadMessage } from './thread.ts';

/**
 * The pipeline thread's heap cap (JOBSD_PIPELINE_HEAP_MB, default 256). The pipelines stream, so they fit in
 * it whatever the number of samples; the cap keeps V8 from growing the heap lazily toward the agent's whole
 * memory, and a runaway run fails alone ("out of memory") instead of taking the agent down.
 */
export function pipelineHeapMb(env: NodeJS.ProcessEnv = process.env): number {
  const value = Number(env.JOBSD_PIPELINE_HEAP_MB);
  return Number.isFinite(value) && value >= 32 ? value : 256;
}

/** How long a thread may take to wind down after a cancel or its timeout before it is terminated. */
const WIND_DOWN_MS = 15_000;
const MAX_TIMER_MS = 2 ** 31 - 1;

export function runPipelineInThread(def: PipelineJob, ctx: RunContext): Promise<RunResult> {
  const startedMs = Date.now();
  const log = ctx.logger.child(runFields(def, ctx));
  const input: ThreadInput = {
    def,
    ctx: { runId: ctx.runId, fireTimeMs: ctx.fireTimeMs, attempt: ctx.attempt, instance: ctx.instance, ...(ctx.databaseUrl ? { databaseUrl: ctx.databaseUrl } : {}) },
  };
  const heapMb = pipelineHeapMb();
  const worker = new Worker(new URL('./thread.ts', import.meta.url), {
    workerData: input,
    name: `jobsd ${def.task.type} ${def.id}`,
    resourceLimits: { maxOldGenerationSizeMb: heapMb },
  });
  return new Promise<RunResult>((resolve) => {
    let settled = false;
    let killTimer: NodeJS.Timeout | undefined;
    const finish = (result: RunResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(killTimer);
      clearTimeout(hardTimer);
      ctx.signal?.removeEventListener('abort', onAbort);
      resolve(result);
    };
    const fail = (status: RunResult['status'], message: string) =>
      finish(buildResult(def, ctx, { status, message, startedMs, completedMs: Date.now() }));
    const terminate = (status: RunResult['status'], message: string) => {
      void worker.terminate();
      fail(status, message);
    };
    const onAbort = () => {
      worker.postMessage({ type: 'abort' });
      killTimer ??= setTimeout(() => terminate('cancelled', `cancelled; the ${def.task.type} thread did not stop within ${formatMs(WIND_DOWN_MS)} and was terminated`), WIND_DOWN_MS);
    };
    // The thread enforces the job's timeout itself; this is the backstop for a thread that is stuck.
    const hardTimer = setTimeout(
      () => terminate('timed_out', `timed out after ${formatMs(def.timeoutMs)}; the thread did not stop and was terminated`),
      Math.min(def.timeoutMs + WIND_DOWN_MS, MAX_TIMER_MS),
    );
    if (ctx.signal?.aborted) onAbort();
    else ctx.signal?.addEventListener('abort', onAbort, { once: true });
    worker.on('message', (m: ThreadMessage) => {
      if (m.type === 'log') log[m.level](m.fields, m.msg);
      else finish(m.result);
    });
    worker.on('error', (err) => {
      log.error({ err }, `${def.task.type} thread failed`);
      const oom = (err as { code?: string }).code === 'ERR_WORKER_OUT_OF_MEMORY';
      fail('failed', oom ? `the ${def.task.type} thread ran out of its ${heapMb} MB heap (raise JOBSD_PIPELINE_HEAP_MB)` : `internal error: ${err.message}`);
    });
    worker.on('exit', (code) => fail('failed', `internal error: the ${def.task.type} thread exited (code ${code}) without a result`));
  });
}

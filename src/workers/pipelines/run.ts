// One attempt of a pipeline task (vm-collect, vm-extract) → a RunResult: the job's timeout, cancellation,
// and any throw turned into a failed result. Runs in whichever thread calls it (see thread.ts).
import type { JobDefinition, VmCollectTask, VmExtractTask } from '../../definitions/types.ts';
import { buildResult, formatMs, type RunIdentity, type RunResult } from '../result.ts';
import { runCollect } from './collect.ts';
import { runExtract } from './extract.ts';
import type { PipelineLog } from './types.ts';

export type { PipelineLog, PipelineOutcome, PipelineRun } from './types.ts';

export type PipelineJob = JobDefinition & { task: VmCollectTask | VmExtractTask };

const MAX_TIMER_MS = 2 ** 31 - 1;

export interface PipelineContext extends RunIdentity {
  signal?: AbortSignal;
  log: PipelineLog;
  databaseUrl?: string;
  retryDelaysMs?: readonly number[];
  visibilityWaitMs?: number;
}

export async function runPipeline(def: PipelineJob, ctx: PipelineContext): Promise<RunResult> {
  const startedMs = Date.now();
  const timeout = new AbortController();
  const timer = setTimeout(() => timeout.abort(new Error('timeout')), Math.min(def.timeoutMs, MAX_TIMER_MS));
  const signal = ctx.signal ? AbortSignal.any([ctx.signal, timeout.signal]) : timeout.signal;
  const finish = (status: RunResult['status'], message: string, details: Record<string, unknown> = {}, error?: string) =>
    buildResult(def, ctx, { status, message, details, startedMs, completedMs: Date.now(), ...(error ? { error } : {}) });
  const base = {
    jobId: def.id,
    signal,
    log: ctx.log,
    nowMs: ctx.fireTimeMs,
    ...(ctx.databaseUrl ? { databaseUrl: ctx.databaseUrl } : {}),
    ...(ctx.retryDelaysMs ? { retryDelaysMs: ctx.retryDelaysMs } : {}),
    ...(ctx.visibilityWaitMs !== undefined ? { visibilityWaitMs: ctx.visibilityWaitMs } : {}),
  };
  try {
    const outcome = def.task.type === 'vm-collect' ? await runCollect({ ...base, task: def.task }) : await runExtract({ ...base, task: def.task });
    if ('aborted' in outcome) {
      if (timeout.signal.aborted) return finish('timed_out', `timed out after ${formatMs(def.timeoutMs)}: ${outcome.message}`, outcome.details);
      return finish('cancelled', `cancelled: ${outcome.message}`, outcome.details);
    }
    return finish(outcome.status, outcome.message, outcome.details, outcome.error);
  } catch (err) {
    if (timeout.signal.aborted) return finish('timed_out', `timed out after ${formatMs(def.timeoutMs)}`);
    if (ctx.signal?.aborted) return finish('cancelled', 'cancelled');
    const message = err instanceof Error ? err.message : String(err);
    ctx.log.error({ job: def.id, error: message }, `${def.task.type} failed`);
    return finish('failed', message);
  } finally {
    clearTimeout(timer);
  }
}

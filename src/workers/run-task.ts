// Runs one attempt of a job's task and always returns a result: a worker loop never sees a throw.
import type { JobDefinition } from '../definitions/types.ts';
import type { HeldCommand } from './command-ahead.ts';
import { runCommand } from './command.ts';
import { runHttp } from './http.ts';
import { redactDeep, allSecrets } from '../redact.ts';
import { runPipelineInThread } from './pipelines/in-thread.ts';
import { filesOf, keepFiles } from './output-files.ts';
import { buildResult, type RunContext, type RunResult } from './result.ts';

/**
 * Runs the attempt; the result has every secret the agent knows replaced, the job's own and every other
 * job's (it goes to the ledger, the API, notifications). `held`: the command's process, spawned ahead of its time (`spawnAhead`).
 */
export async function runTask(def: JobDefinition, ctx: RunContext, held?: HeldCommand): Promise<RunResult> {
  const result = await attempt(def, ctx, held);
  const redacted = redactDeep(result, allSecrets(def.secrets));
  keepFiles(redacted, filesOf(result)); // scrubbed already; in memory only, for the notifications
  return redacted;
}

async function attempt(def: JobDefinition, ctx: RunContext, held: HeldCommand | undefined): Promise<RunResult> {
  const startedMs = Date.now();
  const task = def.task;
  try {
    switch (task.type) {
      case 'command':
        return await runCommand({ ...def, task }, ctx, held);
      case 'http':
        return await runHttp({ ...def, task }, ctx);
      case 'vm-collect':
      case 'vm-extract':
        return await runPipelineInThread({ ...def, task }, ctx);
    }
  } catch (err) {
    ctx.logger.error({ err, job: def.id, run: ctx.runId }, 'task threw');
    return buildResult(def, ctx, {
      status: 'failed',
      message: `internal error: ${err instanceof Error ? err.message : String(err)}`,
      startedMs,
      completedMs: Date.now(),
    });
  }
}

// The pipeline thread's entry: runs one pipeline attempt off the agent's main thread, so parsing a large
// source response or export never delays the ticker's timers (design §3). Logs and the result go back to
// the parent as messages; an `abort` message cancels the run.
import { parentPort, workerData } from 'node:worker_threads';
import { runPipeline, type PipelineJob, type PipelineLog } from './run.ts';
import type { RunIdentity } from '../result.ts';
import { closePipelineHttp } from './vm-http.ts';

export interface ThreadInput {
  def: PipelineJob;
  ctx: RunIdentity & { databaseUrl?: string };
}

export type ThreadMessage =
  | { type: 'log'; level: keyof PipelineLog; fields: object; msg: string }
  | { type: 'result'; result: Awaited<ReturnType<typeof runPipeline>> };

const port = parentPort!;
const { def, ctx } = workerData as ThreadInput;
const controller = new AbortController();
port.on('message', (m: { type: string }) => {
  if (m.type === 'abort') controller.abort(new Error('cancelled'));
});
const post = (level: keyof PipelineLog) => (fields: object, msg: string) =>
  port.postMessage({ type: 'log', level, fields: JSON.parse(JSON.stringify(fields)) as object, msg } satisfies ThreadMessage);
const log: PipelineLog = { debug: post('debug'), info: post('info'), warn: post('warn'), error: post('error') };

const result = await runPipeline(def, { ...ctx, signal: controller.signal, log });
await closePipelineHttp();
port.postMessage({ type: 'result', result } satisfies ThreadMessage);
port.close();

// One pipeline run in a process of its own, so that its peak memory is its own: prints one JSON line
// {ms, maxRssMb, loopDelayMaxMs, result} to stdout. Argument: a JSON document (see pipelines.ts).
//   jobsd            the vm-collect / vm-extract task as the agent runs it (in its pipeline thread)
//   baseline-collect one import POST per source record
//   baseline-extract one INSERT round trip per sample (the original service's loader)
import { monitorEventLoopDelay } from 'node:perf_hooks';
import pg from 'pg';
import { pino } from 'pino';
import type { VmCollectTask, VmExtractTask } from '../src/definitions/types.ts';
import { dateMs, DAY_MS } from '../src/workers/pipelines/business-dates.ts';
import type { PipelineJob } from '../src/workers/pipelines/run.ts';
import { ensureTables } from '../src/workers/pipelines/extract-store.ts';
import { runPipelineInThread } from '../src/workers/pipelines/in-thread.ts';
import { recordsOf, recordsToLines } from '../src/workers/pipelines/prometheus-text.ts';
import { closePipelineHttp, exportSeries, getText, importLines } from '../src/workers/pipelines/vm-http.ts';

export interface ChildInput {
  mode: 'jobsd' | 'baseline-collect' | 'baseline-extract';
  def: PipelineJob;
  fireTimeMs: number;
  databaseUrl?: string;
  /** Baselines: the business dates to process. */
  dates?: string[];
}

const input = JSON.parse(process.argv[2]!) as ChildInput;
const loop = monitorEventLoopDelay({ resolution: 5 });
loop.enable();
const started = performance.now();
let result: unknown;

if (input.mode === 'jobsd') {
  const logger = pino({ level: 'warn' }, process.stderr);
  result = await runPipelineInThread(input.def, {
    runId: 'bench',
    fireTimeMs: input.fireTimeMs,
    attempt: 1,
    instance: 'bench:1',
    logger,
    ...(input.databaseUrl ? { databaseUrl: input.databaseUrl } : {}),
  });
} else if (input.mode === 'baseline-collect') {
  const task = input.def.task as VmCollectTask;
  let samples = 0;
  for (const date of input.dates!) {
    const url = new URL(task.source.url);
    url.searchParams.set(task.source.dateParam, date);
    const records = recordsOf(JSON.parse(await getText(url, { timeoutMs: 60_000 })))!;
    for (const record of records) {
      const lines = recordsToLines([record], date, dateMs(date), { prefix: task.metricPrefix, labelFields: task.labelFields, labels: task.labels });
      await importLines(task.victoriametrics.url, lines);
      samples += lines.length;
    }
  }
  await closePipelineHttp();
  result = { details: { samples_written: samples } };
} else {
  const task = input.def.task as VmExtractTask;
  const client = new pg.Client({ connectionString: task.databaseUrl! });
  await client.connect();
  await ensureTables(client);
  let samples = 0;
  for (const date of input.dates!) {
    await client.query('BEGIN');
    await client.query('DELETE FROM vm_extracted_metrics WHERE job_id = $1 AND biz_date = $2', [input.def.id, date]);
    for await (const series of exportSeries(task.victoriametrics.url, task.query, dateMs(date), dateMs(date) + DAY_MS - 1)) {
      const { __name__: name, ...labels } = series.metric;
      for (let i = 0; i < series.timestamps.length; i++) {
        await client.query(
          `INSERT INTO vm_extracted_metrics (biz_date, audit_id, metric_name, labels, value, "timestamp", extracted_at, job_id, job_execution_timestamp)
           VALUES ($1, $2, $3, $4, $5, $6, now(), $7, $8)`,
          [date, labels.audit_id ?? null, name, JSON.stringify(labels), series.values[i], new Date(series.timestamps[i]!), input.def.id, new Date(input.fireTimeMs)],
        );
        samples++;
      }
    }
    await client.query('COMMIT');
  }
  await client.end();
  await closePipelineHttp();
  result = { details: { samples_written: samples } };
}

loop.disable();
/** CPU of the whole process, its threads included (user + system), in seconds. */
function cpuSeconds(): number {
  const { user, system } = process.cpuUsage();
  return Math.round((user + system) / 1e4) / 100;
}
const ms = performance.now() - started;
process.stdout.write(
  JSON.stringify({ ms, maxRssMb: process.resourceUsage().maxRSS / 1024, loopDelayMaxMs: loop.max / 1e6, cpuS: cpuSeconds(), result }) + '\n',
);

// The `task` of a job file → a Task with every default applied.

import path from 'node:path';
import { ERROR_CODES } from './errors.ts';
import { duration, url, type Problems } from './fields.ts';
import type { CommandTaskInput, HttpTaskInput, StatusInput, TaskInput, VmCollectTaskInput, VmExtractTaskInput } from './job-file.ts';
import type { CommandTask, HttpTask, StatusMatcher, Task, VmCollectTask, VmExtractTask } from './types.ts';

export interface TaskContext {
  jobId: string;
  /** Absolute path of the job file; relative `cwd` is resolved against its directory. */
  file: string;
}

export function normalizeTask(problems: Problems, input: TaskInput, context: TaskContext): Task {
  switch (input.type) {
    case 'command':
    case 'execute_command':
      return commandTask(problems, input, context);
    case 'http':
      return httpTask(problems, input);
    case 'vm-collect':
      return vmCollectTask(problems, input, context);
    case 'vm-extract':
      return vmExtractTask(problems, input);
  }
}

function commandTask(problems: Problems, input: CommandTaskInput, context: TaskContext): CommandTask {
  const at = (key: string) => ['task', key];
  if (typeof input.command === 'string' && input.command.trim() === '') problems.add(ERROR_CODES.schema, at('command'), 'is empty');
  const dir = path.dirname(context.file);
  return {
    type: 'command',
    command: input.command,
    cwd: input.cwd ? path.resolve(dir, input.cwd) : dir,
    env: input.env ?? {},
    cleanEnv: input.clean_env ?? false,
    successExitCodes: input.success_exit_codes ?? [0],
    killGraceMs: duration(problems, input.kill_grace, at('kill_grace'), 10_000),
  };
}

function statusMatchers(problems: Problems, input: StatusInput | StatusInput[] | undefined): StatusMatcher[] {
  const list = input === undefined ? ['2xx'] : Array.isArray(input) ? input : [input];
  return list.map((item, index): StatusMatcher => {
    if (typeof item === 'number') return { code: item };
    const cls = /^([1-5])xx$/i.exec(item);
    if (cls) return { class: Number(cls[1]) };
    if (/^\d{3}$/.test(item)) return { code: Number(item) };
    problems.add(ERROR_CODES.schema, ['task', 'expect_status', ...(Array.isArray(input) ? [index] : [])], `"${item}" is not a status code or class such as 204 or "2xx"`);
    return { class: 2 };
  });
}

function httpTask(problems: Problems, input: HttpTaskInput): HttpTask {
  const timeoutMs = input.timeout === undefined ? undefined : duration(problems, input.timeout, ['task', 'timeout'], 0);
  return {
    type: 'http',
    method: (input.method ?? 'GET').toUpperCase(),
    url: url(problems, input.url, ['task', 'url']),
    headers: input.headers ?? {},
    ...(input.body !== undefined ? { body: input.body } : {}),
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
    expectStatus: statusMatchers(problems, input.expect_status),
  };
}

function metricName(text: string): string {
  return text.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/^([0-9])/, '_$1');
}

function vmCollectTask(problems: Problems, input: VmCollectTaskInput, context: TaskContext): VmCollectTask {
  const labels = input.labels ?? {};
  if (Number.isNaN(Date.parse(`${input.watermark.start_date}T00:00:00Z`))) {
    problems.add(ERROR_CODES.schema, ['task', 'watermark', 'start_date'], `"${input.watermark.start_date}" is not a date YYYY-MM-DD`);
  }
  return {
    type: 'vm-collect',
    source: {
      url: url(problems, input.source.url, ['task', 'source', 'url']),
      ...(input.source.token ? { token: input.source.token } : {}),
      dateParam: input.source.date_param ?? 'business_date',
      timeoutMs: duration(problems, input.source.timeout, ['task', 'source', 'timeout'], 30_000),
    },
    victoriametrics: { url: url(problems, input.victoriametrics.url, ['task', 'victoriametrics', 'url']) },
    metricPrefix: input.metric_prefix,
    labelFields: input.label_fields ?? [],
    labels,
    watermark: { metric: input.watermark.metric, startDate: input.watermark.start_date },
    slidingWindowDays: input.sliding_window_days ?? 0,
    statusMetric: input.status_metric ?? `${metricName(labels.job ?? context.jobId)}_job_status`,
  };
}

/** `name`, `name{…}` or `{…}`: what /api/v1/export's match[] takes. */
export function isSeriesSelector(query: string): boolean {
  return query.trim() !== '' && /^\s*(?:[a-zA-Z_:][a-zA-Z0-9_:]*\s*)?(?:\{[^{}]*\})?\s*$/.test(query);
}

function vmExtractTask(problems: Problems, input: VmExtractTaskInput): VmExtractTask {
  const stepMs = input.step === undefined ? undefined : duration(problems, input.step, ['task', 'step'], 60_000, { min: 1 });
  if (stepMs === undefined && !isSeriesSelector(input.query)) {
    problems.add(ERROR_CODES.schema, ['task', 'query'], `"${input.query}" is not a series selector such as {__name__=~"apex_data_.*"}: raw samples are exported by selector; set task.step to extract a query's results at that step`);
  }
  return {
    type: 'vm-extract',
    victoriametrics: { url: url(problems, input.victoriametrics.url, ['task', 'victoriametrics', 'url']) },
    query: input.query,
    startDateOffsetDays: input.start_date_offset_days ?? 10,
    chunkSizeDays: input.chunk_size_days ?? 7,
    ...(input.database?.url ? { databaseUrl: input.database.url } : {}),
    ...(stepMs !== undefined ? { stepMs } : {}),
    statusMetric: input.status_metric ?? 'extractor_job_status',
  };
}

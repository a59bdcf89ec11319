// The `task` of a job file → a Task with every default applied.

import path from 'node:path';
import { ERROR_CODES } from './errors.ts';
import { duration, url, type Problems } from './fields.ts';
import { parseSize } from './size.ts';
import type { CommandTaskInput, LimitsInput, HttpTaskInput, StatusInput, TaskInput, VmCollectTaskInput, VmExtractTaskInput } from './job-file.ts';
import type { CommandLimits, CommandTask, HttpTask, StatusMatcher, Task, VmCollectTask, VmExtractTask } from './types.ts';

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
  const limits = input.limits === undefined ? undefined : commandLimits(problems, input.limits);
  return {
    type: 'command',
    command: input.command,
    cwd: input.cwd ? path.resolve(dir, input.cwd) : dir,
    env: input.env ?? {},
    cleanEnv: input.clean_env ?? false,
    successExitCodes: input.success_exit_codes ?? [0],
    killGraceMs: duration(problems, input.kill_grace, at('kill_grace'), 10_000),
    ...(limits !== undefined && Object.keys(limits).length > 0 ? { limits } : {}),
  };
}

/** Below these a process cannot even start (the dynamic loader maps more), so they are mistakes. */
const MIN_MEMORY_BYTES = 2 ** 20;

function commandLimits(problems: Problems, input: LimitsInput): CommandLimits {
  const at = (key: string) => ['task', 'limits', key];
  const size = (key: 'memory' | 'output', min: number): number | undefined => {
    const value = input[key];
    if (value === undefined) return undefined;
    const bytes = parseSize(value);
    if (typeof bytes !== 'number') problems.add(ERROR_CODES.schema, at(key), bytes.error);
    else if (bytes < min) problems.add(ERROR_CODES.schema, at(key), `must be at least ${min === MIN_MEMORY_BYTES ? '1M' : `${min} byte`}`);
    else return bytes;
    return undefined;
  };
  const limits: CommandLimits = {};
  const memoryBytes = size('memory', MIN_MEMORY_BYTES);
  if (memoryBytes !== undefined) limits.memoryBytes = memoryBytes;
  if (input.cpu !== undefined) {
    const ms = duration(problems, input.cpu, at('cpu'), -1);
    if (ms >= 0 && (ms < 1000 || ms % 1000 !== 0)) {
      problems.add(ERROR_CODES.duration, at('cpu'), 'RLIMIT_CPU counts whole seconds: use 1s or more, in whole seconds (as in "30s", "5m")');
    } else if (ms >= 0) limits.cpuSeconds = ms / 1000;
  }
  if (input.open_files !== undefined) limits.openFiles = input.open_files;
  if (input.processes !== undefined) limits.processes = input.processes;
  const outputBytes = size('output', 1);
  if (outputBytes !== undefined) limits.outputBytes = outputBytes;
  return limits;
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

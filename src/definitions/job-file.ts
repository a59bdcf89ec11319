// The raw job-file format, after parsing, interpolation, overlays and defaults, before normalisation.
// It mirrors schemas/job.schema.json; test/definitions/job-file.test.ts fails when the two drift apart
// (every key listed in the *_KEYS records below must be a property in the schema, and vice versa).

export type DurationInput = string | number;

export interface JobFile {
  $schema?: string;
  id?: string;
  job_id?: string;
  description?: string;
  enabled?: boolean | string;
  schedule: string | string[] | ScheduleInput;
  overlap?: 'skip' | 'queue' | 'allow' | 'replace';
  timeout?: DurationInput;
  lease?: DurationInput;
  pause_after_failures?: number;
  retry?: RetryInput;
  history?: HistoryInput;
  notify?: NotifyInput;
  idempotency_key?: string;
  task: TaskInput;
  environments?: Record<string, Record<string, unknown>>;
}

export interface ScheduleInput {
  /** One expression, or several: the job fires at the union of their instants. */
  cron?: string | string[];
  every?: DurationInput;
  at?: string;
  once?: true;
  after?: string;
  on?: string[];
  /** With `cron`: `both` makes a day match day of month and day of week; `either` (cron's rule) is the default. */
  days_match?: 'either' | 'both';
  /** APScheduler style, together with `args`. */
  type?: 'cron' | 'interval' | 'date';
  args?: Record<string, string | number>;
  timezone?: string;
  jitter?: DurationInput;
  catchup?: 'skip' | 'latest' | 'all';
  catchup_window?: DurationInput;
  anchor?: string;
  start_at?: string;
  end_at?: string;
}

export interface HistoryInput {
  keep?: number;
  max_age?: DurationInput;
}

export interface RetryInput {
  attempts?: number;
  delay?: DurationInput;
  backoff?: number;
  max_delay?: DurationInput;
}

export interface CommandTaskInput {
  type: 'command' | 'execute_command';
  command: string | string[];
  cwd?: string;
  env?: Record<string, string>;
  clean_env?: boolean;
  success_exit_codes?: number[];
  kill_grace?: DurationInput;
  limits?: LimitsInput;
}

export type SizeInput = string | number;

export interface LimitsInput {
  memory?: SizeInput;
  cpu?: DurationInput;
  open_files?: number;
  processes?: number;
  output?: SizeInput;
}

export type StatusInput = number | string;

export interface HttpTaskInput {
  type: 'http';
  method?: string;
  url: string;
  headers?: Record<string, string>;
  body?: unknown;
  timeout?: DurationInput;
  expect_status?: StatusInput | StatusInput[];
}

export interface VmCollectTaskInput {
  type: 'vm-collect';
  source: { url: string; token?: string; date_param?: string; timeout?: DurationInput };
  victoriametrics: { url: string };
  metric_prefix: string;
  label_fields?: string[];
  labels?: Record<string, string>;
  watermark: { metric: string; start_date: string };
  sliding_window_days?: number;
  status_metric?: string;
}

export interface VmExtractTaskInput {
  type: 'vm-extract';
  victoriametrics: { url: string };
  query: string;
  start_date_offset_days?: number;
  chunk_size_days?: number;
  database?: { url?: string };
  step?: DurationInput;
  status_metric?: string;
}

export type TaskInput = CommandTaskInput | HttpTaskInput | VmCollectTaskInput | VmExtractTaskInput;

export interface NotifyInput {
  on?: Array<'failure' | 'recovery' | 'missed' | 'success'>;
  webhook?: { url: string; headers?: Record<string, string> };
  email?: { to: string[]; from?: string; attach?: boolean | string[] };
}

// Key lists, checked by the compiler against the interfaces above and by a test against the schema.
type Keys<T> = { readonly [K in keyof Required<T>]: true };

export const JOB_FILE_KEYS: Keys<JobFile> = {
  $schema: true, id: true, job_id: true, description: true, enabled: true, schedule: true, overlap: true,
  timeout: true, lease: true, pause_after_failures: true, retry: true, history: true, notify: true, idempotency_key: true, task: true, environments: true,
};
export const NOTIFY_KEYS: Keys<NotifyInput> = { on: true, webhook: true, email: true };
export const SCHEDULE_KEYS: Keys<ScheduleInput> = {
  cron: true, days_match: true, every: true, at: true, once: true, after: true, on: true, type: true, args: true, timezone: true, jitter: true,
  catchup: true, catchup_window: true, anchor: true, start_at: true, end_at: true,
};
export const LIMITS_KEYS: Keys<LimitsInput> = { memory: true, cpu: true, open_files: true, processes: true, output: true };
export const HISTORY_KEYS: Keys<HistoryInput> = { keep: true, max_age: true };
export const RETRY_KEYS: Keys<RetryInput> = { attempts: true, delay: true, backoff: true, max_delay: true };
export const TASK_KEYS = {
  command: {
    type: true, command: true, cwd: true, env: true, clean_env: true, success_exit_codes: true, kill_grace: true, limits: true,
  } satisfies Keys<CommandTaskInput>,
  http: {
    type: true, method: true, url: true, headers: true, body: true, timeout: true, expect_status: true,
  } satisfies Keys<HttpTaskInput>,
  'vm-collect': {
    type: true, source: true, victoriametrics: true, metric_prefix: true, label_fields: true, labels: true,
    watermark: true, sliding_window_days: true, status_metric: true,
  } satisfies Keys<VmCollectTaskInput>,
  'vm-extract': {
    type: true, victoriametrics: true, query: true, start_date_offset_days: true, chunk_size_days: true,
    database: true, step: true, status_metric: true,
  } satisfies Keys<VmExtractTaskInput>,
} as const;

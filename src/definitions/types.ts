// The normalised job definition: what every stage after `definitions/` works with.
// All defaults are applied, durations are milliseconds, instants are epoch milliseconds (UTC),
// the time zone is a canonical IANA name and compatibility forms are converted.
// The raw file format is described by schemas/job.schema.json and typed in ./job-file.ts.

export const CATCHUP_POLICIES = ['skip', 'latest', 'all'] as const;
export type CatchupPolicy = (typeof CATCHUP_POLICIES)[number];

export const OVERLAP_MODES = ['skip', 'queue', 'allow', 'replace'] as const;
export type OverlapMode = (typeof OVERLAP_MODES)[number];

/** One cron expression as checked (`expression`, macros expanded) and as written (`source`). */
export interface CronSource {
  expression: string;
  source: string;
  /**
   * `both`: with day of month and day of week both restricted, a day must match both (APScheduler's
   * and systemd's rule). Absent: cron's rule, either one matching is enough.
   */
  daysMatch?: 'both';
}

/** When a job fires, before time zone, jitter and window are applied. */
export type Trigger =
  /** `expression` has 5 or 6 fields (seconds first); macros such as `@daily` are expanded. */
  | ({ kind: 'cron' } & CronSource)
  /** Several cron expressions (`cron:` given as a list): fires at the union of their instants, each once. */
  | { kind: 'crons'; crons: CronSource[] }
  /** Fires at anchorMs + k × intervalMs for every integer k. */
  | { kind: 'every'; intervalMs: number; anchorMs: number }
  | { kind: 'at'; atMs: number }
  | { kind: 'once' }
  /** Fires when a run of `job` ends in one of `on` (src/runs/chains.ts); no fires of its own. */
  | { kind: 'after'; job: string; on: ChainState[] };

export const CHAIN_STATES = ['succeeded', 'partial', 'failed', 'timed_out'] as const;
export type ChainState = (typeof CHAIN_STATES)[number];

export interface Schedule {
  trigger: Trigger;
  /** Canonical IANA zone name, e.g. `Europe/Berlin`. */
  timezone: string;
  /** Random delay in [0, jitterMs), derived from (job id, fire time). 0 = none. */
  jitterMs: number;
  catchup: CatchupPolicy;
  catchupWindowMs: number;
  /** Fires before this instant are not produced. */
  startAtMs?: number;
  /** Fires after this instant are not produced. */
  endAtMs?: number;
}

export interface RetryPolicy {
  /** Extra attempts after the first failure. */
  attempts: number;
  delayMs: number;
  backoff: number;
  maxDelayMs: number;
}

/** Per-job ledger retention: each given limit deletes finished rows past it. */
export interface HistoryPolicy {
  /** Keep at most this many finished fires (the newest). */
  keep?: number;
  /** Delete finished fires older than this (by fire time). */
  maxAgeMs?: number;
}

export interface CommandTask {
  type: 'command';
  /** argv (run without a shell) or a string (run by `/bin/sh -c`). */
  command: string[] | string;
  /** Absolute; defaults to the job file's directory. */
  cwd: string;
  env: Record<string, string>;
  cleanEnv: boolean;
  successExitCodes: number[];
  killGraceMs: number;
  /** Resource limits of the command's processes (src/workers/limits.ts); absent = none. */
  limits?: CommandLimits;
}

/** setrlimit limits given to every process of a command (each inherits them), and the output it keeps. */
export interface CommandLimits {
  /** RLIMIT_AS: address space of each process, bytes. */
  memoryBytes?: number;
  /** RLIMIT_CPU: CPU seconds of each process (whole seconds; SIGXCPU at this, SIGKILL later). */
  cpuSeconds?: number;
  /** RLIMIT_NOFILE: open file descriptors of each process. */
  openFiles?: number;
  /** RLIMIT_NPROC: processes (threads) of the agent's user, counted over the whole system. */
  processes?: number;
  /** Bytes of stdout + stderr logged and kept; the rest is counted, not stored. */
  outputBytes?: number;
}

/** An exact status code (e.g. 204) or a class (2 for `2xx`). */
export type StatusMatcher = { code: number } | { class: number };

export interface HttpTask {
  type: 'http';
  method: string;
  url: string;
  headers: Record<string, string>;
  /** A string is sent as is; anything else is sent as JSON. */
  body?: unknown;
  /** Per request; undefined = the job's timeout. */
  timeoutMs?: number;
  expectStatus: StatusMatcher[];
}

export interface VmCollectTask {
  type: 'vm-collect';
  source: { url: string; token?: string; dateParam: string; timeoutMs: number };
  victoriametrics: { url: string };
  metricPrefix: string;
  labelFields: string[];
  labels: Record<string, string>;
  watermark: { metric: string; startDate: string };
  slidingWindowDays: number;
  statusMetric: string;
}

export interface VmExtractTask {
  type: 'vm-extract';
  victoriametrics: { url: string };
  query: string;
  startDateOffsetDays: number;
  chunkSizeDays: number;
  /** undefined = the agent's own database. */
  databaseUrl?: string;
  /** query_range step; undefined = raw samples through /api/v1/export. */
  stepMs?: number;
  statusMetric: string;
}

export type Task = CommandTask | HttpTask | VmCollectTask | VmExtractTask;

export const NOTIFY_EVENTS = ['failure', 'recovery', 'missed', 'success', 'paused'] as const;
export type NotifyEvent = (typeof NOTIFY_EVENTS)[number];

export interface NotifyPolicy {
  on: NotifyEvent[];
  webhook?: { url: string; headers: Record<string, string> };
  /** `attach`: which files the command left in JOBSD_OUTPUT_DIR are attached, all (`true`) or these names; absent: none. */
  email?: { to: string[]; from?: string; attach?: true | string[] };
}
export type TaskType = Task['type'];

export interface JobDefinition {
  id: string;
  /** Absolute path of the job file. */
  file: string;
  description?: string;
  enabled: boolean;
  schedule: Schedule;
  overlap: OverlapMode;
  /** Per attempt (default 1h). */
  timeoutMs: number;
  /** How long a claimed attempt stays this agent's without a renewal (src/workers/lease.ts). */
  leaseMs: number;
  /** Pause the job after this many consecutive failed runs (src/runs/pause-after-failures.ts). */
  pauseAfterFailures?: number;
  retry: RetryPolicy;
  /** How much of this job's ledger history to keep, on top of the agent's --history-retention (src/db/retention.ts). */
  history?: HistoryPolicy;
  /** Undefined: nobody is notified. */
  notify?: NotifyPolicy;
  idempotencyKey?: string;
  task: Task;
  /** sha256 of the normalised definition, to tell whether a reload changed anything. */
  hash: string;
  /**
   * Values that must never be shown: what `${file:…}` references read, and the values under secret-looking
   * keys (token, password, authorization…). Logs, result JSON and the API replace them with `[redacted]`.
   */
  secrets: string[];
}

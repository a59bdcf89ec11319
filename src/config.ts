// Agent settings from flags and the environment (flags win), with the defaults of design section 6.

import { hostname, availableParallelism } from 'node:os';
import { parseDuration } from './definitions/duration.ts';
import { urlPasswords } from './redact.ts';
import { DEFAULT_MAX_FILE_BYTES } from './files/limits.ts';
import { canonicalHostName } from './http/host-check.ts';

export type Role = 'all' | 'scheduler' | 'worker';

export interface AgentConfig {
  jobsDir: string;
  /** Undefined: an embedded PostgreSQL in dataDir/pg. */
  databaseUrl?: string;
  dataDir: string;
  environment?: string;
  /** Undefined: no HTTP server. */
  http?: { host: string; port: number };
  /** Host names the HTTP endpoint answers besides IP literals and localhost (`--allowed-hosts`); `*`: any. */
  allowedHosts: string[];
  concurrency: number;
  poll: boolean;
  instance: string;
  role: Role;
  timezone: string;
  logLevel: string;
  allowInsecureFiles: boolean;
  /** Job files larger than this are refused unread (`--max-file-size`, JOBSD_MAX_FILE_SIZE). */
  maxFileBytes: number;
  /** How long active runs may finish at shutdown. */
  graceMs: number;
  /** Ledger rows older than this are pruned. */
  historyRetentionMs: number;
  /** JOBSD_API_TOKEN: enables POST /api/jobs/:id/run for requests that carry it. */
  apiToken?: string;
  /** JOBSD_SMTP_URL: the SMTP server email notifications go through. */
  smtpUrl?: string;
}

/** Where the HTTP endpoint listens unless told otherwise (the Prometheus exporter port range). */
export const DEFAULT_HTTP = '127.0.0.1:9464';

export interface StartFlags {
  'jobs-dir'?: string;
  'database-url'?: string;
  'data-dir'?: string;
  env?: string;
  http?: string;
  'allowed-hosts'?: string;
  concurrency?: string;
  poll?: boolean;
  instance?: string;
  role?: string;
  'allow-insecure-files'?: boolean;
  'max-file-size'?: string;
  grace?: string;
  'history-retention'?: string;
}

export class ConfigError extends Error {}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3 };

/** `--max-file-size`: bytes, or with a unit (`512KiB`, `4MiB`, `4M`; powers of 1024); default 1 MiB. */
export function maxFileBytes(text: string | undefined): number {
  if (text === undefined || text === '') return DEFAULT_MAX_FILE_BYTES;
  const match = /^(\d+)\s*([a-z]*)$/i.exec(text.trim());
  const unit = match ? SIZE_UNITS[match[2]!.toLowerCase()] : undefined;
  if (!match || unit === undefined || Number(match[1]) < 1) throw new ConfigError(`--max-file-size: "${text}" is not a size such as 1048576, 512KiB or 4MiB`);
  return Number(match[1]) * unit;
}

/** `--allowed-hosts a,b`: host names (no port, no scheme), compared without case; `*` for any. */
export function allowedHosts(text: string | undefined): string[] {
  const names = (text ?? '').split(',').map((name) => name.trim()).filter((name) => name !== '');
  for (const name of names) {
    if (name !== '*' && !/^[A-Za-z0-9_]([A-Za-z0-9_.-]*[A-Za-z0-9_.])?$/.test(name)) {
      throw new ConfigError(`--allowed-hosts: "${name}" is not a host name such as jobsd.example.com (names only: no port, scheme or path)`);
    }
  }
  return names.map(canonicalHostName);
}

function parseHttp(text: string): { host: string; port: number } | undefined {
  if (text === 'off') return undefined;
  const match = /^(?:(.*):)?(\d+)$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port > 65_535) throw new ConfigError(`--http: "${text}" is not HOST:PORT, PORT or off`);
  return { host: match[1] || '127.0.0.1', port };
}

export function agentConfig(flags: StartFlags, env: Readonly<Record<string, string | undefined>>): AgentConfig {
  const concurrencyText = flags.concurrency ?? env.JOBSD_CONCURRENCY;
  // Runs at once per queue: most runs wait on a child process or a server, so well above the core count.
  const concurrency = concurrencyText === undefined ? Math.max(32, availableParallelism() * 16) : Number(concurrencyText);
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new ConfigError(`--concurrency: "${concurrencyText}" is not a positive integer`);
  const role = (flags.role ?? env.JOBSD_ROLE ?? 'all') as Role;
  if (!['all', 'scheduler', 'worker'].includes(role)) throw new ConfigError(`--role: "${role}" is not all, scheduler or worker`);
  const graceText = flags.grace ?? env.JOBSD_SHUTDOWN_GRACE ?? '30';
  const graceSeconds = Number(graceText);
  if (!(graceSeconds >= 0)) throw new ConfigError(`--grace: "${graceText}" is not a number of seconds`);
  const retentionText = flags['history-retention'] ?? env.JOBSD_HISTORY_RETENTION ?? '30d';
  const historyRetentionMs = parseDuration(retentionText);
  if (typeof historyRetentionMs !== 'number' || historyRetentionMs < 3_600_000) {
    throw new ConfigError(`--history-retention: "${retentionText}" is not a duration of at least 1h, such as 30d`);
  }
  const databaseUrl = flags['database-url'] ?? env.JOBSD_DATABASE_URL ?? env.DATABASE_URL;
  const environment = flags.env ?? env.JOBSD_ENV;
  const http = parseHttp(flags.http ?? env.JOBSD_HTTP ?? DEFAULT_HTTP);
  return {
    jobsDir: flags['jobs-dir'] ?? env.JOBSD_JOBS_DIR ?? 'jobs.d',
    ...(databaseUrl ? { databaseUrl } : {}),
    dataDir: flags['data-dir'] ?? env.JOBSD_DATA_DIR ?? '.jobsd',
    ...(environment ? { environment } : {}),
    ...(http ? { http } : {}),
    allowedHosts: allowedHosts(flags['allowed-hosts'] ?? env.JOBSD_ALLOWED_HOSTS),
    concurrency,
    poll: flags.poll ?? env.JOBSD_POLL === 'true',
    instance: flags.instance ?? env.JOBSD_INSTANCE ?? `${hostname()}:${process.pid}`,
    role,
    timezone: env.JOBSD_TIMEZONE || 'UTC',
    logLevel: env.JOBSD_LOG_LEVEL ?? 'info',
    allowInsecureFiles: flags['allow-insecure-files'] ?? env.JOBSD_ALLOW_INSECURE_FILES === 'true',
    maxFileBytes: maxFileBytes(flags['max-file-size'] ?? env.JOBSD_MAX_FILE_SIZE),
    graceMs: graceSeconds * 1000,
    historyRetentionMs,
    ...(env.JOBSD_API_TOKEN ? { apiToken: env.JOBSD_API_TOKEN } : {}),
    ...(env.JOBSD_SMTP_URL ? { smtpUrl: env.JOBSD_SMTP_URL } : {}),
  };
}

/** The agent's own secret values (API token, passwords in its database and SMTP URLs): never shown. */
export function agentSecrets(config: Pick<AgentConfig, 'apiToken' | 'databaseUrl' | 'smtpUrl'>): string[] {
  return [...(config.apiToken ? [config.apiToken] : []), ...urlPasswords(config.databaseUrl ?? ''), ...urlPasswords(config.smtpUrl ?? '')];
}

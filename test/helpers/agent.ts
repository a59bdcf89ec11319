// Real agents for end-to-end tests: `jobsd start` as a child process on a temporary jobs.d.

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { ROOT } from './cli.ts';
import { pollUntil } from './poll.ts';

export interface AgentProcess {
  name: string;
  child: ChildProcess;
  /** Parsed JSON log lines so far. */
  logs: Record<string, unknown>[];
  exited: Promise<number | null>;
  /** What the agent wrote to stderr (crashes end up here). */
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/**
 * An hourly schedule whose fires are half an hour from now (on a whole minute), for a job a test runs by hand or by a signal:
 * `every 1h` alone fires on the hour, and that fire, queued up to 950 ms ahead, takes the job's overlap
 * slot from a `jobsd run` made in that second (it is then skipped, as it should be).
 */
export const HOURLY_ANCHOR = new Date(Math.floor(Date.now() / 60_000) * 60_000 - 30 * 60_000).toISOString();
export const HOURLY = `schedule: { every: 1h, anchor: "${HOURLY_ANCHOR}" }`;

export function jobsDir(files: Record<string, string> = {}): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-e2e-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

/**
 * Starts `jobsd start` and waits for "jobsd started". With no databaseUrl, the agent starts its embedded
 * PostgreSQL (give `--data-dir` in args). `detached`: the agent leads a process group of its own, as a
 * shell's foreground job does, so that a test can send the whole group a terminal's Ctrl-C.
 */
export async function startAgent(options: {
  name: string;
  jobsDir: string;
  databaseUrl?: string;
  args?: string[];
  env?: Record<string, string>;
  detached?: boolean;
  /** A command the agent is started through, that execs its arguments (`unshare … --`): its pid stays the agent's. */
  wrapper?: string[];
}): Promise<AgentProcess> {
  const [command, ...prefix] = [...(options.wrapper ?? []), process.execPath];
  const child = spawn(
    command!,
    [
      ...prefix,
      path.join(ROOT, 'bin', 'jobsd.js'), 'start', '--jobs-dir', options.jobsDir, ...(options.databaseUrl ? ['--database-url', options.databaseUrl] : []), '--instance', options.name, '--grace', '5',
      // Several agents run at once: no HTTP endpoint unless the test asks for one.
      ...(options.args?.includes('--http') ? [] : ['--http', 'off']),
      ...(options.args ?? []),
    ],
    { cwd: ROOT, env: { ...process.env, JOBSD_LOG_LEVEL: 'debug', ...options.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false },
  );
  const logs: Record<string, unknown>[] = [];
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    }
  });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const agent: AgentProcess = {
    name: options.name,
    child,
    logs,
    exited,
    stderr: () => stderr,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
  await Promise.race([
    pollUntil(() => logs.some((l) => l.msg === 'jobsd started'), { timeoutMs: 30_000, what: `${options.name} started` }),
    exited.then((code) => {
      throw new Error(`${options.name} exited with ${code} before starting: ${stderr}${JSON.stringify(logs.slice(-5))}`);
    }),
  ]);
  return agent;
}

export interface LedgerRow {
  job_id: string;
  run_id: string;
  fire_time: Date;
  state: string;
  attempts: number;
  instance: string | null;
  enqueued_at: Date | null;
  started_at: Date | null;
  finished_at: Date | null;
  manual: boolean;
  result: Record<string, unknown> | null;
}

export async function ledger(databaseUrl: string, jobId: string): Promise<LedgerRow[]> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return (await client.query<LedgerRow>('SELECT * FROM jobsd.fires WHERE job_id = $1 ORDER BY fire_time', [jobId])).rows;
  } finally {
    await client.end();
  }
}

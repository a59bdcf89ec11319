// The instances registry (jobsd.instances): one row per running agent, with a heartbeat.

import type pg from 'pg';
import type { FileError } from '../definitions/errors.ts';
import type { ReportedJob } from './instance-catalog.ts';

export interface InstanceInfo {
  name: string;
  hostname: string;
  pid: number;
  role: string;
  version: string;
  /** Absolute, so that `jobsd run` from another directory reads the same files. */
  jobsDir: string;
  /** JOBSD_ENV of the agent, which selects `environments:` overrides. */
  environment?: string | undefined;
  /** JOBSD_TIMEZONE of the agent: the zone of jobs that name none. */
  timezone: string;
}

/** Registers the instance; the catalog of an earlier instance of that name goes (CatalogReport writes this one's). */
export async function registerInstance(pool: pg.Pool, info: InstanceInfo): Promise<void> {
  await pool.query(
    `WITH earlier AS (DELETE FROM jobsd.instance_jobs WHERE instance = $1)
     INSERT INTO jobsd.instances (name, hostname, pid, role, version, jobs_dir, environment, timezone) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
     ON CONFLICT (name) DO UPDATE SET hostname = $2, pid = $3, role = $4, version = $5, jobs_dir = $6, environment = $7, timezone = $8,
       started_at = now(), heartbeat_at = now(), catalog = NULL, jobs_reported = false, http_url = NULL`,
    [info.name, info.hostname, info.pid, info.role, info.version, info.jobsDir, info.environment ?? null, info.timezone],
  );
}

/** Where the instance's HTTP endpoint listens, once it does (`jobsd run` may go through its API). */
export async function reportHttp(pool: pg.Pool, name: string, url: string): Promise<void> {
  await pool.query('UPDATE jobsd.instances SET http_url = $2 WHERE name = $1', [name, url]);
}

/** An instance whose heartbeat (every 30 s) is this late is stale: its agent was killed, or hangs. */
export const STALE_AFTER_SECONDS = 90;
/** A stale instance's row is dropped by the next heartbeat of any agent once it is this late. */
export const DROP_AFTER_SECONDS = 600;

/**
 * This instance's heartbeat; the same statement drops the rows of instances dead for DROP_AFTER_SECONDS
 * (their catalogs with them). The catalog itself is written per change (src/db/instance-catalog.ts).
 */
export async function heartbeat(pool: pg.Pool, name: string, jobs: number, fileErrors: FileError[]): Promise<void> {
  await pool.query(
    `WITH dropped AS (DELETE FROM jobsd.instances WHERE heartbeat_at < now() - make_interval(secs => $4) AND name <> $1)
     UPDATE jobsd.instances SET heartbeat_at = now(), jobs = $2, file_errors = $3 WHERE name = $1`,
    [name, jobs, JSON.stringify(fileErrors), DROP_AFTER_SECONDS],
  );
}

export async function unregisterInstance(pool: pg.Pool, name: string): Promise<void> {
  await pool.query('DELETE FROM jobsd.instances WHERE name = $1', [name]);
}

export interface InstanceRow {
  name: string;
  hostname: string;
  pid: number;
  role: string;
  version: string;
  jobs_dir: string;
  environment: string | null;
  timezone: string | null;
  http_url: string | null;
  /** The whole catalog as an agent of an older version reports it (migration 004); null from this version on. */
  catalog: ReportedJob[] | null;
  /** The instance reports its catalog in jobsd.instance_jobs (instanceJobs); not for a worker (undefined before migration 005). */
  jobs_reported?: boolean;
  started_at: Date;
  heartbeat_at: Date;
  jobs: number;
  file_errors: FileError[];
  heartbeat_age_seconds: number;
  /** Its heartbeat is overdue (STALE_AFTER_SECONDS): the agent is likely dead; its file errors are not current. */
  stale: boolean;
}

export async function listInstances(pool: pg.Pool): Promise<InstanceRow[]> {
  const result = await pool.query<InstanceRow>(
    'SELECT *, EXTRACT(EPOCH FROM now() - heartbeat_at)::float AS heartbeat_age_seconds, heartbeat_at < now() - make_interval(secs => $1) AS stale FROM jobsd.instances ORDER BY name',
    [STALE_AFTER_SECONDS],
  );
  return result.rows;
}

/** The jobs the given instances report (one, with `id`), by instance; none when no agent has reported any yet. */
export async function instanceJobs(pool: pg.Pool, instances: string[], id?: string): Promise<Map<string, ReportedJob[]>> {
  const byInstance = new Map<string, ReportedJob[]>(instances.map((name) => [name, []]));
  if (instances.length === 0) return byInstance;
  const { rows } = await pool.query<{ instance: string; job: ReportedJob }>(
    'SELECT instance, job FROM jobsd.instance_jobs WHERE instance = ANY($1::text[]) AND ($2::text IS NULL OR id = $2)',
    [instances, id ?? null],
  );
  for (const row of rows) byInstance.get(row.instance)?.push(row.job);
  return byInstance;
}

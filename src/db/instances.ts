// The instances registry (jobsd.instances): one row per running agent, with a heartbeat.

import type pg from 'pg';
import type { FileError } from '../definitions/errors.ts';

export interface InstanceInfo {
  name: string;
  hostname: string;
  pid: number;
  role: string;
  version: string;
  jobsDir: string;
}

export async function registerInstance(pool: pg.Pool, info: InstanceInfo): Promise<void> {
  await pool.query(
    `INSERT INTO jobsd.instances (name, hostname, pid, role, version, jobs_dir) VALUES ($1, $2, $3, $4, $5, $6)
     ON CONFLICT (name) DO UPDATE SET hostname = $2, pid = $3, role = $4, version = $5, jobs_dir = $6, started_at = now(), heartbeat_at = now()`,
    [info.name, info.hostname, info.pid, info.role, info.version, info.jobsDir],
  );
}

export async function heartbeat(pool: pg.Pool, name: string, jobs: number, fileErrors: FileError[]): Promise<void> {
  await pool.query('UPDATE jobsd.instances SET heartbeat_at = now(), jobs = $2, file_errors = $3 WHERE name = $1', [name, jobs, JSON.stringify(fileErrors)]);
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
  started_at: Date;
  heartbeat_at: Date;
  jobs: number;
  file_errors: FileError[];
  heartbeat_age_seconds: number;
}

export async function listInstances(pool: pg.Pool): Promise<InstanceRow[]> {
  const result = await pool.query<InstanceRow>(
    'SELECT *, EXTRACT(EPOCH FROM now() - heartbeat_at)::float AS heartbeat_age_seconds FROM jobsd.instances ORDER BY name',
  );
  return result.rows;
}

// What the live agents run, for `jobsd list`, `run` and `history`: the catalog each live instance
// reports in jobsd.instances (src/db/instance-catalog.ts), rather than the files of the current directory.

import type pg from 'pg';
import { instanceJobs, listInstances, type InstanceRow } from '../db/instances.ts';
import type { ReportedJob } from '../db/instance-catalog.ts';
import { escapeControl } from '../files/limits.ts';

export interface AgentJob {
  job: ReportedJob;
  /** The live instance that reports it (the first by name when several do). */
  instance: InstanceRow;
  /** Its file is in error on that instance: the agent runs the file's last good version. */
  fileInError: boolean;
}

export interface AgentCatalog {
  /** Every live instance, workers included. */
  live: InstanceRow[];
  /** The live instances that report a catalog (schedulers); empty when no agent is up. */
  instances: InstanceRow[];
  jobs: Map<string, AgentJob>;
}

/** The database has no jobsd tables yet (no agent has used it): no instances, no fires. */
export function noTables(error: unknown): boolean {
  const code = (error as { code?: unknown })?.code;
  return code === '42P01' || code === '3F000';
}

/** The live instances (heartbeat not overdue), or none when the database holds no jobsd tables yet. */
export async function liveInstances(pool: pg.Pool): Promise<InstanceRow[]> {
  try {
    return (await listInstances(pool)).filter((i) => !i.stale);
  } catch (error) {
    if (noTables(error)) return [];
    throw error;
  }
}

/**
 * The jobs the live instances report (with `id`, that job only: `run` and `history` read one row per
 * agent, not 100,000): from jobsd.instance_jobs, or from instances.catalog for an agent of an older version.
 */
export async function agentCatalog(pool: pg.Pool, live: InstanceRow[], id?: string): Promise<AgentCatalog> {
  const instances = live.filter((i) => i.jobs_reported === true || Array.isArray(i.catalog));
  const rows = await instanceJobs(
    pool,
    instances.filter((i) => i.jobs_reported === true).map((i) => i.name),
    id,
  );
  const jobs = new Map<string, AgentJob>();
  for (const instance of instances) {
    const broken = new Set(instance.file_errors.map((e) => e.file));
    const reported = rows.get(instance.name) ?? (id === undefined ? instance.catalog! : instance.catalog!.filter((j) => j.id === id));
    for (const job of reported) {
      if (!jobs.has(job.id)) jobs.set(job.id, { job, instance, fileInError: broken.has(job.file) });
    }
  }
  return { live, instances, jobs };
}

/** Why the files are read: no agent is up, or none of the live ones reports its jobs. */
export function noCatalog(catalog: AgentCatalog): string {
  return catalog.live.length === 0
    ? 'no agent is running'
    : `no live agent reports its jobs (${catalog.live.map((i) => escapeControl(i.name)).join(', ')}: workers, or an older version)`;
}

/** `agent a (jobs dir /srv/jobs.d, JOBSD_ENV=prod), agent b (…)`. */
export function describeAgents(instances: InstanceRow[]): string {
  return instances
      .map((i) => escapeControl(`${i.name} (jobs dir ${i.jobs_dir}${i.environment ? `, JOBSD_ENV=${i.environment}` : ''})`))
    .join(', ');
}

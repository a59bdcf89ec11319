// What the live agents run, for `jobsd list`, `run` and `history`: the catalog each live instance
// reports in jobsd.instances (src/db/instance-catalog.ts), rather than the files of the current directory.

import type pg from 'pg';
import { listInstances, type InstanceRow } from '../db/instances.ts';
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

export function agentCatalog(live: InstanceRow[]): AgentCatalog {
  const instances = live.filter((i) => Array.isArray(i.catalog));
  const jobs = new Map<string, AgentJob>();
  for (const instance of instances) {
    const broken = new Set(instance.file_errors.map((e) => e.file));
    for (const job of instance.catalog!) {
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

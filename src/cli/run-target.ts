// Which definition `jobsd run JOB_ID` queues. With a live agent: the one it runs, found by its reported
// hash in the agent's own jobs directory read with the agent's JOBSD_ENV and zone (from any directory);
// when the file no longer gives that version (it is in error, or changed), the agent queues the run itself
// through its HTTP API. With no agent up: the job files of --jobs-dir.

import type pg from 'pg';
import path from 'node:path';
import { loadDirectory, loadFileWithDefaults } from '../definitions/directory.ts';
import type { LoadOptions } from '../definitions/load.ts';
import type { JobDefinition, OverlapMode } from '../definitions/types.ts';
import type { InstanceRow } from '../db/instances.ts';
import { escapeControl } from '../files/limits.ts';
import { agentCatalog, describeAgents, liveInstances, noCatalog } from './agents.ts';
import { CliError, type Io } from './command.ts';
import { jobsDir, loadOptions, type FileSettingsFlags } from './settings.ts';

export type RunTarget = { note: string; overlap: OverlapMode; /** Some agent is up to run it. */ agentUp: boolean } & (
  | { kind: 'agent' | 'files'; definition: JobDefinition }
  | { kind: 'http'; instance: InstanceRow }
);

/** The load options an agent reads its files with: its JOBSD_ENV and JOBSD_TIMEZONE, this shell's variables. */
function agentLoadOptions(instance: InstanceRow, base: LoadOptions): LoadOptions {
  const { JOBSD_ENV: _mine, ...env } = base.env;
  const { environment: _environment, ...rest } = base;
  return {
    ...rest,
    env: instance.environment ? { ...env, JOBSD_ENV: instance.environment } : env,
    ...(instance.environment ? { environment: instance.environment } : {}),
    defaultTimezone: instance.timezone ?? base.defaultTimezone,
  };
}

export async function runTarget(pool: pg.Pool, id: string, flags: FileSettingsFlags & { 'jobs-dir'?: string | undefined }, io: Io): Promise<RunTarget> {
  const shown = escapeControl(id);
  const catalog = await agentCatalog(pool, await liveInstances(pool), id);
  if (catalog.instances.length === 0) {
    const dir = jobsDir(flags['jobs-dir'], io);
    const definition = loadDirectory(dir, loadOptions(flags, io)).definitions.find((d) => d.id === id);
    const why = noCatalog(catalog);
    if (!definition) throw new CliError(`no job "${shown}": ${why}, and no valid file in ${dir} holds it (jobsd validate ${dir} shows file errors)`);
    const waits = catalog.live.length === 0 ? '; the run waits in the queue until an agent starts' : '';
    return { kind: 'files', definition, overlap: definition.overlap, agentUp: catalog.live.length > 0, note: `${why}: ${shown} read from ${definition.file}${waits}` };
  }
  const entry = catalog.jobs.get(id);
  if (!entry) throw new CliError(`no job "${shown}": the live agents do not run it (${describeAgents(catalog.instances)})`);
  const { instance, job } = entry;
  const agent = escapeControl(instance.name);
  // The job's own file (with its directory's _defaults), not the whole directory: 100,000 files take 20 s to load.
  const loaded = path.dirname(job.file) === path.resolve(instance.jobs_dir) ? loadFileWithDefaults(job.file, agentLoadOptions(instance, loadOptions(flags, io))) : undefined;
  const definition = loaded?.ok && loaded.definition.id === id && loaded.definition.hash === job.hash ? loaded.definition : undefined;
  if (definition) return { kind: 'agent', definition, overlap: definition.overlap, agentUp: true, note: `${shown} as agent ${agent} runs it, from ${definition.file}` };
  const why = entry.fileInError
    ? `its file ${job.file} is in error, so the agent runs its last good version`
    : `its file ${job.file} gives another version here (changed since, or reading variables this shell lacks)`;
  if (!instance.http_url) throw new CliError(`agent ${agent} runs a version of ${shown} that ${why}, and has no HTTP endpoint to queue it: fix the file, or start the agent with --http`);
  if (!io.env.JOBSD_API_TOKEN) throw new CliError(`agent ${agent} runs a version of ${shown} that ${why}: set JOBSD_API_TOKEN (the agent's) to queue it through the agent's HTTP API, or fix the file`);
  return { kind: 'http', instance, overlap: job.overlap, agentUp: true, note: `${shown} as agent ${agent} runs it (${why}): queued through its HTTP API at ${instance.http_url}` };
}

/** Queues the run through the agent's `POST /api/jobs/:id/run`; refusals and failures to connect are one line. */
export async function runThroughAgent(instance: InstanceRow, id: string, token: string): Promise<{ job_id: string; run_id: string; fire_time: string; state: string }> {
  const agent = escapeControl(instance.name);
  const url = `${instance.http_url}/api/jobs/${encodeURIComponent(id)}/run`;
  let response: Response;
  try {
    response = await fetch(url, { method: 'POST', headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(10_000) });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    throw new CliError(`cannot reach agent ${agent}'s HTTP endpoint at ${instance.http_url} (${cause}): is the agent still running, and is its --http address reachable from here?`);
  }
  const body = (await response.json().catch(() => ({}))) as { run_id?: string; fire_time?: string; state?: string; error?: { code?: string; message?: string } };
  if (response.status === 401) throw new CliError(`agent ${agent} refused the API token (401): JOBSD_API_TOKEN must be the agent's own token`);
  if (response.status === 409) return { job_id: id, run_id: body.run_id ?? '', fire_time: body.fire_time ?? '', state: 'skipped' };
  if (response.status === 404 && body.error?.code === 'not_found') throw new CliError(`agent ${agent} has manual runs over HTTP disabled: start it with JOBSD_API_TOKEN set`);
  if (response.status !== 202 || !body.run_id) {
    throw new CliError(`agent ${agent} did not queue the run (HTTP ${response.status}${body.error?.message ? `: ${escapeControl(body.error.message)}` : ''})`);
  }
  return { job_id: id, run_id: body.run_id, fire_time: body.fire_time ?? '', state: body.state ?? 'queued' };
}

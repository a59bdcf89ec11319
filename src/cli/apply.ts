// jobsd apply FILE, jobsd delete JOB_ID: a job file written into, or removed from, a running agent's jobs
// directory through its HTTP API (PUT/DELETE /api/jobs/:id, src/files/api-writes.ts), with JOBSD_API_TOKEN.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import { escapeControl } from '../files/limits.ts';
import { formatOf, idFromFileName } from '../files/names.ts';
import { liveInstances } from './agents.ts';
import { CliError, EXIT, parseCommandArgs, UsageError, type Command, type Io } from './command.ts';
import { DATABASE_FLAGS, withDatabase } from './database.ts';

const applyUsage = `Usage: jobsd apply FILE [--id JOB_ID] [--json] [--database-url URL] [--data-dir DIR]

Writes the job file (YAML or JSON) into a running agent's jobs directory through its HTTP API, as
jobs.d/<id>.yaml (the id from the file, --id, or the file name): it is checked first as the agent would load
it (errors are printed with their line), and goes live through the agent's watcher. A job whose file the API
did not write is refused. Needs the agent's token in JOBSD_API_TOKEN.`;

const deleteUsage = `Usage: jobsd delete JOB_ID [--json] [--database-url URL] [--data-dir DIR]

Removes a job written by jobsd apply (or PUT /api/jobs/:id) from a running agent's jobs directory.`;

interface ApiAnswer {
  status: number;
  body: { error?: { message?: string }; errors?: Array<{ text?: string }>; loaded?: boolean; unloaded?: boolean; file?: string; message?: string };
}

async function callAgent(values: { 'database-url'?: string | undefined; 'data-dir'?: string | undefined }, io: Io, method: 'PUT' | 'DELETE', id: string, body?: { text: string; type: string }): Promise<ApiAnswer & { agent: string }> {
  const token = io.env.JOBSD_API_TOKEN;
  if (!token) throw new CliError(`set JOBSD_API_TOKEN to the agent's token: writing jobs through the API needs it`);
  return withDatabase(values, io, async ({ pool }) => {
    const agent = (await liveInstances(pool)).find((i) => i.http_url && i.role !== 'worker');
    if (!agent) throw new CliError('no running agent with an HTTP endpoint: start one (jobsd start, with --http), or write the file into its jobs directory yourself');
    const url = `${agent.http_url}/api/jobs/${encodeURIComponent(id)}`;
    let response: Response;
    try {
      response = await fetch(url, { method, headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': body.type } : {}) }, ...(body ? { body: body.text } : {}), signal: AbortSignal.timeout(15_000) });
    } catch (error) {
      throw new CliError(`cannot reach agent ${escapeControl(agent.name)} at ${agent.http_url} (${(error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name}): is its --http address reachable from here?`);
    }
    const answer = (await response.json().catch(() => ({}))) as ApiAnswer['body'];
    if (response.status === 401) throw new CliError(`agent ${escapeControl(agent.name)} refused the API token (401): JOBSD_API_TOKEN must be the agent's own token`);
    return { status: response.status, body: answer, agent: agent.name };
  });
}

function report(io: Io, json: boolean | undefined, answer: ApiAnswer & { agent: string }, done: string): number {
  if (json) io.stdout(JSON.stringify({ status: answer.status, ...answer.body }) + '\n');
  if (answer.status >= 400) {
    for (const e of answer.body.errors ?? []) io.stderr(`${escapeControl(e.text ?? '')}\n`);
    throw new CliError(escapeControl(answer.body.error?.message ?? `HTTP ${answer.status}`));
  }
  if (!json) io.stdout(`${done}${answer.status === 202 ? ` (not loaded yet: ${answer.body.message ?? 'see jobsd status'})` : ''}\n`);
  return EXIT.ok;
}

export const applyCommand: Command = {
  name: 'apply',
  summary: 'write a job file into a running agent’s jobs directory through its API',
  usage: applyUsage,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, { ...DATABASE_FLAGS, id: { type: 'string' }, json: { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError('expected one FILE');
    const file = positionals[0]!;
    const format = formatOf(file);
    if (format !== 'yaml' && format !== 'json') throw new UsageError(`${file}: apply takes a .yaml, .yml or .json file (JSON5 is not YAML: convert it)`);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (error) {
      throw new CliError(`cannot read ${file}: ${(error as Error).message}`);
    }
    const id = values.id ?? (/^\s*(?:id|job_id)\s*:\s*["']?([a-z0-9][a-z0-9._-]*)/m.exec(text)?.[1] ?? idFromFileName(path.basename(file)));
    const answer = await callAgent(values, io, 'PUT', id, { text, type: format === 'json' ? 'application/json' : 'application/yaml' });
    return report(io, values.json, answer, `${id}: ${answer.status === 201 ? 'created' : 'written'} as ${answer.body.file ?? '?'} on ${answer.agent}${answer.body.loaded ? ', loaded' : ''}`);
  },
};

export const deleteCommand: Command = {
  name: 'delete',
  summary: 'remove a job written by jobsd apply',
  usage: deleteUsage,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, { ...DATABASE_FLAGS, json: { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError('expected one JOB_ID');
    const id = positionals[0]!;
    const answer = await callAgent(values, io, 'DELETE', id);
    return report(io, values.json, answer, `${id}: removed ${answer.body.file ?? ''} on ${answer.agent}${answer.body.unloaded ? ', unloaded' : ''}`);
  },
};

// jobsd list [--json]: the jobs with schedule, next fire and last result: as the live agents run them
// (their reported catalogs), or, when no agent is up, as the job files of the jobs directory give them.

import { loadDirectory } from '../definitions/directory.ts';
import type { OverlapMode, Schedule } from '../definitions/types.ts';
import { lastFires, type FireRow } from '../db/ledger.ts';
import { escapeControl } from '../files/limits.ts';
import { describeTrigger } from '../schedule/describe.ts';
import { nextFire } from '../schedule/next.ts';
import { agentCatalog, describeAgents, liveInstances, noCatalog, noTables } from './agents.ts';
import { EXIT, parseCommandArgs, type Command } from './command.ts';
import { DATABASE_FLAGS, NoDatabaseError, withDatabase } from './database.ts';
import { FILE_FLAGS, jobsDir, loadOptions } from './settings.ts';
import { ranAt, shownTime } from './fire-time.ts';
import { activePauses, pauseJson as pauseView, type Pause } from '../db/pauses.ts';
import { formatTable } from './table.ts';

const usage = `Usage: jobsd list [--json] [--jobs-dir DIR] [--env NAME] [--database-url URL] [--data-dir DIR]

The jobs with their schedule, next fire and last result, as the live agents run them (the catalog each
reports through the database: a file in error keeps its last good version, the agent's JOBSD_ENV applies).
When no agent is up, the job files of the jobs directory (--jobs-dir, --env) instead; a line on stderr says
which. With no agent running, the embedded PostgreSQL of --data-dir is started for the command.`;

interface Listed {
  id: string;
  description?: string | undefined;
  enabled: boolean;
  schedule: Schedule;
  overlap: OverlapMode;
  file: string;
  fileInError: boolean;
}

interface Source {
  from: 'agents' | 'files';
  jobs: Listed[];
  agents: string[];
  /** Which agents, with their jobs directory and JOBSD_ENV; or why the files were read. */
  described: string;
  fileErrors: number;
}

export const listCommand: Command = {
  name: 'list',
  summary: 'jobs with their schedule, next fire and last result',
  usage,
  async run(args, io) {
    const { values } = parseCommandArgs(args, { ...DATABASE_FLAGS, ...FILE_FLAGS, 'jobs-dir': { type: 'string' }, json: { type: 'boolean' } }, false);
    const options = loadOptions(values, io);
    const fromFiles = (why: string): Source => {
      const loaded = loadDirectory(jobsDir(values['jobs-dir'], io), options);
      return { from: 'files', jobs: loaded.definitions.map((d) => ({ ...d, fileInError: false })), agents: [], described: why, fileErrors: loaded.errors.length };
    };
    let source: Source;
    let last = new Map<string, FireRow>();
    let pauses = new Map<string, Pause>();
    try {
      source = await withDatabase(values, io, async ({ pool }) => {
        const catalog = await agentCatalog(pool, await liveInstances(pool));
        last = await lastFires(pool).catch((error: unknown) => (noTables(error) ? new Map<string, FireRow>() : Promise.reject(error)));
        pauses = await activePauses(pool).catch((error: unknown) => (noTables(error) ? new Map<string, Pause>() : Promise.reject(error)));
        if (catalog.instances.length === 0) return fromFiles(noCatalog(catalog));
        const errors = new Set(catalog.instances.flatMap((i) => i.file_errors.map((e) => `${e.file}:${e.line}:${e.column}:${e.message}`)));
        return {
          from: 'agents' as const,
          jobs: [...catalog.jobs.values()].map(({ job, fileInError }) => ({ ...job, fileInError })).sort((a, b) => (a.id < b.id ? -1 : 1)),
          agents: catalog.instances.map((i) => i.name),
          described: describeAgents(catalog.instances),
          fileErrors: errors.size,
        };
      });
      if (source.from === 'agents') {
        io.stderr(`(jobs as the live agents run them: ${source.described})\n`);
      } else {
        io.stderr(`(${source.described}: jobs read from the files in ${jobsDir(values['jobs-dir'], io)})\n`);
      }
    } catch (error) {
      if (!(error instanceof NoDatabaseError)) throw error; // a database that cannot be reached: one line, exit 1
      // No database at all (no URL, no embedded one yet): the files, without last results.
      source = fromFiles('no database');
      io.stderr(`(no database, so no agent and no last results: jobs read from the files in ${jobsDir(values['jobs-dir'], io)})\n`);
    }
    const now = Date.now();
    const jobs = source.jobs.map((d) => {
      const next = d.enabled ? nextFire(d.schedule, now) : null;
      const fire = last.get(d.id);
      return {
        id: d.id,
        description: d.description ?? null,
        enabled: d.enabled,
        schedule: describeTrigger(d.schedule),
        overlap: d.overlap,
        next_fire: next === null ? null : new Date(next).toISOString(),
        last_fire: fire ? ranAt(fire) : null,
        last_state: fire?.state ?? null,
        file: d.file,
        file_in_error: d.fileInError,
        pause: pauseView(pauses.get(d.id)),
      };
    });
    if (values.json) {
      io.stdout(JSON.stringify({ source: source.from, agents: source.agents, jobs, file_errors: source.fileErrors }, null, 2) + '\n');
    } else {
      const rows = jobs.map((j) => [
        j.id,
        `${j.enabled ? '' : '(disabled) '}${j.schedule}`,
        j.pause.paused ? `paused ${pauses.get(j.id)!.untilMs === undefined ? 'until resumed' : `until ${j.pause.until}`}` : (j.next_fire ?? '-'),
        j.last_state ? `${j.last_state} ${shownTime(last.get(j.id)!)}` : '-',
        `${j.pause.paused ? `(paused by ${j.pause.paused_by}${j.pause.reason ? `: ${j.pause.reason}` : ''}) ` : ''}${j.file_in_error ? '(file in error: its last good version runs) ' : ''}${j.description ?? ''}`,
      ]);
      io.stdout(formatTable(['ID', 'SCHEDULE', 'NEXT FIRE (UTC)', 'LAST', 'DESCRIPTION'], rows.map((r) => r.map(escapeControl))));
      if (source.fileErrors) io.stderr(`${source.fileErrors} file error(s): ${source.from === 'agents' ? 'jobsd status' : 'jobsd validate'} shows them\n`);
    }
    return EXIT.ok;
  },
};

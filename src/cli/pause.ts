// jobsd pause JOB [--for DURATION | --until ISO] [--reason TEXT], jobsd resume JOB: a run-time pause,
// recorded in the database and obeyed by every replica (src/queue/pause.ts).

import { parseDuration } from '../definitions/duration.ts';
import { migrate } from '../db/migrate.ts';
import { pausedMessage } from '../db/pauses.ts';
import { pauseJob, resumeJob } from '../queue/pause.ts';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command.ts';
import { DATABASE_FLAGS, withDatabase } from './database.ts';
import { runTarget } from './run-target.ts';
import { cliInstant } from '../definitions/instant.ts';
import { withQueue } from './queue-client.ts';
import { FILE_FLAGS } from './settings.ts';

const pauseUsage = `Usage: jobsd pause JOB_ID [--for DURATION | --until ISO] [--reason TEXT] [--json] [--jobs-dir DIR] [--database-url URL] [--data-dir DIR]

Pauses the job on every agent sharing the database: each of its fires is recorded skipped (paused), until
jobsd resume, or until the pause ends by itself (--for 2h, --until 2026-12-24T08:00:00Z). Fires already
queued are taken back; a run already started finishes; a manual jobsd run still runs.`;

const resumeUsage = `Usage: jobsd resume JOB_ID [--jobs-dir DIR] [--database-url URL] [--data-dir DIR]

Ends the job's pause: its next fire runs.`;

const FLAGS = { ...DATABASE_FLAGS, ...FILE_FLAGS, 'jobs-dir': { type: 'string' } } as const;

function untilOf(values: { for?: string | undefined; until?: string | undefined }, nowMs: number): number | undefined {
  if (values.for !== undefined && values.until !== undefined) throw new UsageError('give --for or --until, not both');
  if (values.for !== undefined) {
    const ms = parseDuration(values.for);
    if (typeof ms !== 'number' || ms <= 0) throw new UsageError(`--for: "${values.for}" is not a duration (90s, 2h, 1h30m)`);
    return nowMs + ms;
  }
  if (values.until !== undefined) {
    const ms = cliInstant(values.until);
    if (ms === undefined) throw new UsageError(`--until: "${values.until}" is not an ISO 8601 instant (2026-12-24T08:00:00Z)`);
    if (ms <= nowMs) throw new UsageError(`--until: ${values.until} has passed`);
    return ms;
  }
  return undefined;
}

export const pauseCommand: Command = {
  name: 'pause',
  summary: 'pause a job on every agent (its fires are recorded skipped) until resume, --for or --until',
  usage: pauseUsage,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, { ...FLAGS, for: { type: 'string' }, until: { type: 'string' }, reason: { type: 'string' }, json: { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError('expected one JOB_ID');
    const id = positionals[0]!;
    const untilMs = untilOf(values, Date.now());
    const outcome = await withDatabase(values, io, async ({ url, pool }) => {
      await runTarget(pool, id, values, io); // the job must exist: a pause of a misspelt id would pause nothing
      await migrate(pool);
      return withQueue(url, (boss) => pauseJob(pool, boss, { jobId: id, ...(untilMs !== undefined ? { untilMs } : {}), ...(values.reason ? { reason: values.reason } : {}), by: 'operator' }));
    });
    const { pause, skipped, held } = outcome;
    if (held > 0) io.stderr(`warning: ${held} run(s) of ${id} claimed ahead of their time were not stopped: their agent did not hear of the pause in time (cut off from the database?)\n`);
    if (values.json) {
      io.stdout(JSON.stringify({ job_id: id, paused: true, until: pause.untilMs === undefined ? null : new Date(pause.untilMs).toISOString(), reason: pause.reason ?? null, queued_runs_skipped: skipped, held_runs_not_stopped: held }) + '\n');
    } else {
      io.stdout(`${id}: ${pausedMessage(pause)}${skipped ? `; ${skipped} queued run(s) taken back` : ''}\n`);
    }
    return EXIT.ok;
  },
};

export const resumeCommand: Command = {
  name: 'resume',
  summary: 'end a job’s pause',
  usage: resumeUsage,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, FLAGS);
    if (positionals.length !== 1) throw new UsageError('expected one JOB_ID');
    const id = positionals[0]!;
    const was = await withDatabase(values, io, async ({ pool }) => {
      await runTarget(pool, id, values, io);
      await migrate(pool);
      return resumeJob(pool, id);
    });
    io.stdout(was ? `${id}: resumed\n` : `${id}: was not paused\n`);
    return EXIT.ok;
  },
};

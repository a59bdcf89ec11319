// jobsd history JOB_ID [--limit N] [--json]: the job's fires from the ledger, newest first.

import { loadDirectory } from '../definitions/directory.ts';
import { fireHistory, type FireRow } from '../db/ledger.ts';
import { escapeControl } from '../files/limits.ts';
import { agentCatalog, describeAgents, liveInstances, noCatalog } from './agents.ts';
import { EXIT, parseCommandArgs, positiveInteger, UsageError, type Command } from './command.ts';
import { DATABASE_FLAGS, withDatabase } from './database.ts';
import { FILE_FLAGS, jobsDir, loadOptions } from './settings.ts';
import { ranAt, shownTime } from './fire-time.ts';
import { formatTable } from './table.ts';

const usage = `Usage: jobsd history JOB_ID [--limit N] [--json] [--database-url URL] [--data-dir DIR] [--jobs-dir DIR] [--env NAME]

The job's fires from the ledger, newest first (default 20): the fire time (for a one-time job, when it ran),
whether the schedule or a person (jobsd run, the API) started it, state, attempts, instance, duration, result.
A job id that no live agent runs (or, with no agent up, no file of --jobs-dir holds) and that has no fire
in the ledger is exit 1. With no agent running, the embedded PostgreSQL of --data-dir is started for the command.`;

export const historyCommand: Command = {
  name: 'history',
  summary: "a job's fires and their results, newest first",
  usage,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, { ...DATABASE_FLAGS, ...FILE_FLAGS, 'jobs-dir': { type: 'string' }, limit: { type: 'string' }, json: { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError('expected one JOB_ID');
    const id = positionals[0]!;
    const limit = positiveInteger(values.limit, '--limit', 20);
    const { rows, known } = await withDatabase(values, io, async ({ pool }) => {
      const catalog = await agentCatalog(pool, await liveInstances(pool), id);
      const rows = await fireHistory(pool, id, limit);
      if (catalog.instances.length > 0) {
        const known = catalog.jobs.has(id) ? undefined : `no live agent runs it (${describeAgents(catalog.instances)})`;
        return { rows, known };
      }
      const dir = jobsDir(values['jobs-dir'], io);
      const inFiles = loadDirectory(dir, loadOptions(values, io)).definitions.some((d) => d.id === id);
      return { rows, known: inFiles ? undefined : `${noCatalog(catalog)}, and no valid file in ${dir} holds it` };
    });
    if (known !== undefined) {
      if (rows.length === 0) {
        io.stderr(`jobsd history: no job "${escapeControl(id)}": ${known}, and the ledger has no fire of it\n`);
        return EXIT.failed;
      }
      io.stderr(`(${escapeControl(id)}: ${known}; its recorded fires:)\n`);
    }
    if (values.json) {
      io.stdout(JSON.stringify(rows.map(toJson), null, 2) + '\n');
      return EXIT.ok;
    }
    if (rows.length === 0) {
      io.stdout(`no fires recorded for ${escapeControl(id)} yet\n`);
      return EXIT.ok;
    }
    const table = rows.map((r) => [
      shownTime(r),
      r.backfill ? 'backfill' : r.manual ? 'manual' : 'schedule',
      r.state,
      String(r.attempts),
      r.instance ?? '',
      r.started_at && r.finished_at ? `${((r.finished_at.getTime() - r.started_at.getTime()) / 1000).toFixed(3)}s` : '',
      String((r.result as { message?: string } | null)?.message ?? ''),
    ]);
    io.stdout(formatTable(['FIRE (UTC)', 'BY', 'STATE', 'ATTEMPTS', 'INSTANCE', 'DURATION', 'MESSAGE'], table));
    return EXIT.ok;
  },
};

function toJson(r: FireRow) {
  return { ...r, fire_time: r.fire_time.toISOString(), ran_at: ranAt(r), manual: r.manual, backfill: r.backfill === true };
}

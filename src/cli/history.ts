// jobsd history JOB_ID [--limit N] [--json]: the job's fires from the ledger, newest first.

import { fireHistory, type FireRow } from '../db/ledger.ts';
import { EXIT, parseCommandArgs, positiveInteger, UsageError, type Command } from './command.ts';
import { DATABASE_FLAGS, databaseUrl, withPool } from './database.ts';
import { ranAt, shownTime } from './fire-time.ts';
import { formatTable } from './table.ts';

const usage = `Usage: jobsd history JOB_ID [--limit N] [--json] [--database-url URL] [--data-dir DIR]

The job's fires from the ledger, newest first (default 20): the fire time (for a one-time job, when it ran),
whether the schedule or a person (jobsd run, the API) started it, state, attempts, instance, duration, result.`;

export const historyCommand: Command = {
  name: 'history',
  summary: "a job's fires and their results, newest first",
  usage,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, { ...DATABASE_FLAGS, limit: { type: 'string' }, json: { type: 'boolean' } });
    if (positionals.length !== 1) throw new UsageError('expected one JOB_ID');
    const limit = positiveInteger(values.limit, '--limit', 20);
    const rows = await withPool(databaseUrl(values, io), (pool) => fireHistory(pool, positionals[0]!, limit));
    if (values.json) {
      io.stdout(JSON.stringify(rows.map(toJson), null, 2) + '\n');
      return EXIT.ok;
    }
    if (rows.length === 0) {
      io.stdout(`no fires recorded for ${positionals[0]}\n`);
      return EXIT.ok;
    }
    const table = rows.map((r) => [
      shownTime(r),
      r.manual ? 'manual' : 'schedule',
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
  return { ...r, fire_time: r.fire_time.toISOString(), ran_at: ranAt(r), manual: r.manual };
}

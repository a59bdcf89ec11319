// jobsd list [--json]: the jobs of the directory with schedule, next fire and last result.

import { loadDirectory } from '../definitions/directory.ts';
import { lastFires, type FireRow } from '../db/ledger.ts';
import { describeTrigger } from '../schedule/describe.ts';
import { nextFire } from '../schedule/next.ts';
import { EXIT, parseCommandArgs, type Command } from './command.ts';
import { DATABASE_FLAGS, databaseUrl, withPool } from './database.ts';
import { jobsDir, loadOptions } from './settings.ts';
import { ranAt, shownTime } from './fire-time.ts';
import { formatTable } from './table.ts';

const usage = `Usage: jobsd list [--json] [--jobs-dir DIR] [--env NAME] [--database-url URL] [--data-dir DIR]

The jobs of the jobs directory: schedule, next fire and, when the database is reachable, the last result.`;

export const listCommand: Command = {
  name: 'list',
  summary: 'jobs with their schedule, next fire and last result',
  usage,
  async run(args, io) {
    const { values } = parseCommandArgs(args, { ...DATABASE_FLAGS, 'jobs-dir': { type: 'string' }, env: { type: 'string' }, json: { type: 'boolean' } }, false);
    const loaded = loadDirectory(jobsDir(values['jobs-dir'], io), loadOptions(values, io));
    let last = new Map<string, FireRow>();
    try {
      last = await withPool(databaseUrl(values, io), (pool) => lastFires(pool));
    } catch (error) {
      io.stderr(`(no last results: ${(error as Error).message})\n`);
    }
    const now = Date.now();
    const jobs = loaded.definitions.map((d) => {
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
      };
    });
    if (values.json) io.stdout(JSON.stringify({ jobs, file_errors: loaded.errors.length }, null, 2) + '\n');
    else {
      const rows = jobs.map((j) => [j.id, j.enabled ? j.schedule : `(disabled) ${j.schedule}`, j.next_fire ?? '-', j.last_state ? `${j.last_state} ${shownTime(last.get(j.id)!)}` : '-', j.description ?? '']);
      io.stdout(formatTable(['ID', 'SCHEDULE', 'NEXT FIRE (UTC)', 'LAST', 'DESCRIPTION'], rows));
      if (loaded.errors.length) io.stderr(`${loaded.errors.length} file error(s): jobsd validate shows them\n`);
    }
    return EXIT.ok;
  },
};

// jobsd next (FILE | --cron EXPR... | --every DUR) [--tz ZONE] [--from ISO] [--count N] [--json]

import { DateTime } from 'luxon';
import { loadFileWithDefaults } from '../definitions/directory.ts';
import { fieldName, formatFileError } from '../definitions/errors.ts';
import { Problems } from '../definitions/fields.ts';
import { parseInstant } from '../definitions/instant.ts';
import { normalizeSchedule } from '../definitions/normalize-schedule.ts';
import type { Schedule } from '../definitions/types.ts';
import { describeTrigger } from '../schedule/describe.ts';
import { jitterDelay } from '../schedule/jitter.ts';
import { firedBy, nextFires } from '../schedule/next.ts';
import { EXIT, parseCommandArgs, positiveInteger, UsageError, type Command, type Io } from './command.ts';
import { FILE_FLAGS, loadOptions } from './settings.ts';
import { formatTable } from './table.ts';

const usage = `Usage: jobsd next (FILE | --cron EXPR... | --every DUR) [--tz ZONE] [--from ISO] [--count N] [--json]

Prints the next fire times of a job file or of a schedule given on the command line,
in the schedule's time zone and in UTC (like systemd-analyze calendar).
  --cron EXPR   a cron expression; repeat it for several (the job fires at their union),
                and each fire shows the expressions it comes from
  --tz ZONE     IANA time zone for --cron (default $JOBSD_TIMEZONE, else UTC)
  --from ISO    compute fires strictly after this instant (default: now)
  --count N     how many fires (default 5)
  --json        a JSON array of UTC ISO instants with milliseconds, nothing else on stdout;
                for several crons, objects {"fire": ISO, "crons": [EXPR...]} instead`;

export const nextCommand: Command = {
  name: 'next',
  summary: 'print the next fire times of a job file or a cron/every expression',
  usage,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      cron: { type: 'string', multiple: true },
      every: { type: 'string' },
      tz: { type: 'string' },
      from: { type: 'string' },
      count: { type: 'string' },
      json: { type: 'boolean' },
      ...FILE_FLAGS,
    });
    const sources = [positionals.length > 0, values.cron !== undefined, values.every !== undefined].filter(Boolean).length;
    if (sources !== 1 || positionals.length > 1) throw new UsageError('give exactly one of FILE, --cron EXPR or --every DUR');
    const count = positiveInteger(values.count, '--count', 5);
    const zone = values.tz ?? io.env.JOBSD_TIMEZONE ?? 'UTC';
    const from = values.from === undefined ? Date.now() : parseInstant(values.from, 'UTC');
    if (typeof from !== 'number') throw new UsageError(`--from: ${from.error}`);

    let schedule: Schedule;
    let jobId = 'next';
    if (positionals[0] !== undefined) {
      if (values.tz !== undefined) throw new UsageError('--tz applies to --cron and --every; a job file names its own timezone');
      const load = loadFileWithDefaults(positionals[0], loadOptions(values, io));
      if (!load.ok) {
        for (const e of load.errors) io.stderr(formatFileError(e) + '\n');
        return EXIT.failed;
      }
      schedule = load.definition.schedule;
      jobId = load.definition.id;
    } else {
      const problems = new Problems();
      const cron = values.cron?.length === 1 ? values.cron[0]! : values.cron;
      const input = cron !== undefined ? { cron, timezone: zone } : { every: values.every!, timezone: zone };
      const parsed = normalizeSchedule(problems, input, zone);
      if (!parsed) {
        const flag = (p: readonly (string | number)[]) => (fieldName(p) === 'schedule.timezone' ? '--tz' : values.cron !== undefined ? '--cron' : '--every');
        throw new UsageError(problems.list.map((p) => `${flag(p.path)}: ${p.message}`).join('\n'));
      }
      schedule = parsed;
    }
    const fires = nextFires(schedule, from, count);
    const several = schedule.trigger.kind === 'crons';
    if (values.json) {
      const iso = (ms: number) => new Date(ms).toISOString();
      io.stdout(JSON.stringify(several ? fires.map((ms) => ({ fire: iso(ms), crons: firedBy(schedule, ms) })) : fires.map(iso)) + '\n');
    } else printTable(schedule, jobId, fires, io);
    return EXIT.ok;
  },
};

function printTable(schedule: Schedule, jobId: string, fires: number[], io: Io): void {
  io.stdout(`Schedule: ${describeTrigger(schedule)}\n`);
  if (schedule.jitterMs > 0) io.stdout(`Jitter:   each fire is due up to ${schedule.jitterMs} ms after its nominal time\n`);
  if (fires.length === 0) {
    const { trigger } = schedule;
    io.stdout(
      trigger.kind === 'once'
        ? 'Runs once, when the job is first loaded.\n'
        : trigger.kind === 'after'
          ? `Runs each time a run of ${trigger.job} ends ${trigger.on.join(' or ')} (no fires of its own).\n`
          : 'No further fires.\n',
    );
    return;
  }
  const local = (ms: number) => DateTime.fromMillis(ms, { zone: schedule.timezone }).toFormat('ccc yyyy-MM-dd HH:mm:ss ZZ (ZZZZ)');
  const jitter = schedule.jitterMs > 0;
  const several = schedule.trigger.kind === 'crons';
  const rows = fires.map((ms, i) => [
    String(i + 1),
    local(ms),
    new Date(ms).toISOString(),
    ...(jitter ? [new Date(ms + jitterDelay(jobId, ms, schedule.jitterMs)).toISOString()] : []),
    ...(several ? [firedBy(schedule, ms).join(', ')] : []),
  ]);
  const header = ['#', schedule.timezone, 'UTC', ...(jitter ? ['due with jitter (UTC)'] : []), ...(several ? ['cron'] : [])];
  io.stdout(formatTable(header, rows));
}

// jobsd backfill JOB --from ISO --to ISO [--dry-run] [--wait] [--json]: runs every fire of the job's schedule
// in the range that has no successful record, oldest first, through the queue (src/queue/backfill.ts).

import { randomUUID } from 'node:crypto';
import { startBackfill, updateBackfill } from '../db/backfills.ts';
import { migrate } from '../db/migrate.ts';
import { formatDuration } from '../definitions/duration.ts';
import { planBackfill, runBackfill } from '../queue/backfill.ts';
import { CliError, EXIT, parseCommandArgs, UsageError, type Command } from './command.ts';
import { escapeControl } from '../files/limits.ts';
import { runTarget } from './run-target.ts';
import { cliInstant } from '../definitions/instant.ts';
import { withQueue } from './queue-client.ts';
import { DATABASE_FLAGS, withDatabase } from './database.ts';
import { FILE_FLAGS } from './settings.ts';

const usage = `Usage: jobsd backfill JOB_ID --from ISO --to ISO [--dry-run] [--wait] [--json] [--jobs-dir DIR] [--database-url URL] [--data-dir DIR]

Runs every fire of the job's schedule from --from to --to (both included) that has no successful record:
never run, missed, skipped, failed. Oldest first, one at a time unless the job allows overlap, each through
the queue (a running agent executes it, exactly once across replicas; the ledger marks it a backfill).
The backfill goes on while this command runs: Ctrl-C stops it after the run in progress, and the same
command continues it (what succeeded is not run again). Progress goes to stderr.
  --dry-run  list the fires it would run, and run none
  --wait     wait for the last run to end too; exit 0 only if every run succeeded
  --json     print the fires (--dry-run) or the outcome as JSON on stdout`;

function instant(text: string | undefined, flag: string): number {
  if (text === undefined) throw new UsageError(`${flag} is required`);
  const ms = cliInstant(text);
  if (ms === undefined) throw new UsageError(`${flag}: "${text}" is not an ISO 8601 instant (2026-11-01T00:00:00Z)`);
  return ms;
}

export const backfillCommand: Command = {
  name: 'backfill',
  summary: 'run the fires of a time range that have no successful record (--dry-run lists them)',
  usage,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      ...DATABASE_FLAGS,
      ...FILE_FLAGS,
      'jobs-dir': { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      'dry-run': { type: 'boolean' },
      wait: { type: 'boolean' },
      json: { type: 'boolean' },
    });
    if (positionals.length !== 1) throw new UsageError('expected one JOB_ID');
    const id = positionals[0]!;
    const fromMs = instant(values.from, '--from');
    const toMs = instant(values.to, '--to');
    if (toMs < fromMs) throw new UsageError('--to is before --from');
    return withDatabase(values, io, async ({ url, pool }) => {
      const target = await runTarget(pool, id, values, io);
      if (target.kind === 'http') throw new CliError(`a backfill needs ${escapeControl(id)}'s file to load as the agent runs it (it is in error): fix it first`);
      io.stderr(`(${target.note})\n`);
      const def = target.definition;
      if (def.schedule.trigger.kind === 'once' || def.schedule.trigger.kind === 'after') {
        io.stderr(`jobsd backfill: ${escapeControl(id)} has no schedule of its own (${def.schedule.trigger.kind === 'once' ? 'a one-time job' : 'it runs after another job'}): jobsd run ${escapeControl(id)} runs it\n`);
        return EXIT.failed;
      }
      await migrate(pool);
      let plan;
      try {
        plan = await planBackfill(pool, def, fromMs, toMs);
      } catch (error) {
        if (!(error instanceof RangeError)) throw error;
        io.stderr(`jobsd backfill: ${error.message}\n`);
        return EXIT.failed;
      }
      const fires = plan.toRun.map((f) => f.fireTimeMs);
      const summary = `${id}: ${plan.all.length} fire(s) from ${new Date(fromMs).toISOString()} to ${new Date(toMs).toISOString()}: ${fires.length} to run, ${plan.succeeded} succeeded already${plan.inFlight ? `, ${plan.inFlight} queued or running now (left alone)` : ''}`;
      if (values['dry-run']) {
        if (values.json) io.stdout(JSON.stringify({ job_id: id, fires: plan.toRun.map((f) => ({ fire_time: new Date(f.fireTimeMs).toISOString(), state: f.state ?? null })), succeeded: plan.succeeded, in_flight: plan.inFlight }) + '\n');
        else for (const f of plan.toRun) io.stdout(`${new Date(f.fireTimeMs).toISOString()}  ${f.state ?? 'no record'}\n`);
        io.stderr(`${summary} (dry run: nothing queued)\n`);
        return EXIT.ok;
      }
      io.stderr(`${summary}\n`);
      if (fires.length === 0) {
        if (values.json) io.stdout(JSON.stringify({ job_id: id, total: 0, succeeded: 0, failed: 0, stopped: false }) + '\n');
        return EXIT.ok;
      }
      const backfillId = randomUUID();
      await startBackfill(pool, { id: backfillId, jobId: id, fromMs, toMs, total: fires.length });
      const progress = new Progress(io.stderr, fires.length, process.stderr.isTTY === true);
      await withQueue(url, (boss) =>
        runBackfill(
          {
            pool,
            boss,
            instance: 'cli',
            signal: io.signal,
            ended: (fireTimeMs, state) => {
              progress.ended(fireTimeMs, state);
              void updateBackfill(pool, backfillId, progress.done, progress.failed).catch(() => undefined);
            },
          },
          def,
          fires,
          values.wait === true,
        ),
      );
      const stopped = io.signal.aborted && progress.done < fires.length;
      await updateBackfill(pool, backfillId, progress.done, progress.failed, stopped ? 'stopped' : values.wait || progress.done === fires.length ? 'done' : 'queued');
      progress.finish(stopped ? `stopped after ${progress.done} of ${fires.length}: run the same command to continue` : values.wait ? `done: ${progress.done - progress.failed} succeeded, ${progress.failed} not` : `the last run is queued`);
      if (values.json) io.stdout(JSON.stringify({ job_id: id, total: fires.length, succeeded: progress.done - progress.failed, failed: progress.failed, stopped }) + '\n');
      return stopped || progress.failed > 0 ? EXIT.failed : EXIT.ok;
    });
  },
};

/** Progress on stderr: a bar redrawn in place on a terminal, a line per run otherwise. */
class Progress {
  done = 0;
  failed = 0;
  private readonly started = Date.now();
  private readonly write: (text: string) => void;
  private readonly total: number;
  private readonly tty: boolean;
  constructor(write: (text: string) => void, total: number, tty: boolean) {
    this.write = write;
    this.total = total;
    this.tty = tty;
  }

  ended(fireTimeMs: number, state: string): void {
    this.done++;
    if (state !== 'succeeded') this.failed++;
    const left = this.total - this.done;
    const eta = this.done > 0 && left > 0 ? ` · ETA ${formatDuration(Math.round(((Date.now() - this.started) / this.done) * left / 1000) * 1000 || 1000)}` : '';
    const counts = `${this.done}/${this.total}${this.failed ? ` · ${this.failed} failed` : ''}${eta}`;
    if (this.tty) {
      const width = 30;
      const filled = Math.round((this.done / this.total) * width);
      this.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${counts}\x1b[K`);
    } else this.write(`${counts}  ${new Date(fireTimeMs).toISOString()} ${state}\n`);
  }

  finish(line: string): void {
    this.write(`${this.tty ? '\n' : ''}${line}\n`);
  }
}

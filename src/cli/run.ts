// jobsd run JOB_ID [--wait] [--json]: a manual run now, through the queue, respecting overlap, of the
// job as the live agents run it (src/cli/run-target.ts says how it is found).

import { setTimeout as sleep } from 'node:timers/promises';
import { randomUUID } from 'node:crypto';
import { fireAt, fireByRunId } from '../db/ledger.ts';
import { migrate } from '../db/migrate.ts';
import { escapeControl } from '../files/limits.ts';
import { enqueueFire } from '../queue/enqueue-batch.ts';
import { fireId } from '../queue/fire-id.ts';
import { CliError, EXIT, parseCommandArgs, UsageError, type Command } from './command.ts';
import { DATABASE_FLAGS, withDatabase } from './database.ts';
import { FILE_FLAGS } from './settings.ts';
import { runThroughAgent, runTarget } from './run-target.ts';
import { cliInstant } from '../definitions/instant.ts';
import { withQueue } from './queue-client.ts';

const usage = `Usage: jobsd run JOB_ID [--at ISO [--force]] [--wait] [--json] [--jobs-dir DIR] [--env NAME] [--database-url URL] [--data-dir DIR]

Queues a manual run of the job now, through the queue, so a running agent executes it and its overlap
mode applies (with overlap: skip, a run while another is queued or active is refused).
The job is the one the live agents run (the catalog they report: their jobs directory and JOBSD_ENV,
from any directory); a line on stderr says which. When the agent runs a version its file no longer
gives (a file in error keeps its last good version), the run goes through that agent's HTTP API, with
the agent's token in JOBSD_API_TOKEN. With no agent up, the job comes from the files of --jobs-dir and
waits in the queue for an agent. An unknown JOB_ID is exit 1.
  --at ISO  run it as if it had fired at that instant: JOBSD_FIRE_TIME is that instant and the run is
            recorded under that fire in the ledger; refused if that fire succeeded already
  --force   with --at: run it even so
  --wait   wait for the run to finish and print its result; exit 0 only if it succeeded
  --json   print the result JSON (with --wait) or {"job_id","run_id","state"} only`;

const FINAL = new Set(['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'missed', 'partial']);

export const runCommand: Command = {
  name: 'run',
  summary: 'queue a manual run of a job now (--wait for its result)',
  usage,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      ...DATABASE_FLAGS,
      ...FILE_FLAGS,
      'jobs-dir': { type: 'string' },
      wait: { type: 'boolean' },
      json: { type: 'boolean' },
      at: { type: 'string' },
      force: { type: 'boolean' },
    });
    if (values.force && values.at === undefined) throw new UsageError('--force goes with --at');
    const atMs = values.at === undefined ? undefined : cliInstant(values.at);
    if (values.at !== undefined && atMs === undefined) throw new UsageError(`--at: "${values.at}" is not an ISO 8601 instant (2026-11-30T02:00:00Z)`);
    if (positionals.length !== 1) throw new UsageError('expected one JOB_ID');
    const id = positionals[0]!;
    return withDatabase(values, io, async ({ url, pool }) => {
      const target = await runTarget(pool, id, values, io);
      io.stderr(`(${target.note})\n`);
      if (!target.agentUp && values.wait) {
        throw new CliError(`no agent is running to run ${escapeControl(id)}: start one (jobsd start), or leave out --wait to queue the run for the next agent`);
      }
      let summary: { job_id: string; run_id: string; fire_time: string; state: string };
      if (target.kind === 'http') {
        if (atMs !== undefined) throw new CliError(`--at needs ${escapeControl(id)}'s file to load as the agent runs it (it is in error): fix it, or run without --at`);
        summary = await runThroughAgent(target.instance, id, io.env.JOBSD_API_TOKEN!);
      } else {
        await migrate(pool);
        const definition = target.definition;
        const fireTimeMs = atMs ?? Date.now();
        // A run at a chosen instant re-opens that fire's row: a fresh run id, as pg-boss keeps the ids it ran.
        const runId = atMs === undefined ? fireId(id, fireTimeMs) : randomUUID();
        if (atMs !== undefined) {
          const before = await fireAt(pool, id, atMs);
          if (before && (before.state === 'queued' || before.state === 'running')) throw new CliError(`${escapeControl(id)}: not run: the fire of ${new Date(atMs).toISOString()} is ${before.state} now (run ${before.run_id})`);
          if (before?.state === 'succeeded' && !values.force) {
            throw new CliError(`${escapeControl(id)}: not run: the fire of ${new Date(atMs).toISOString()} succeeded at ${before.finished_at?.toISOString() ?? '?'} (run ${before.run_id}); --force runs it again`);
          }
        }
        const reopen = atMs === undefined ? {} : { reopen: values.force ? ('force' as const) : ('unless-succeeded' as const) };
        const outcome = await withQueue(url, (boss) => enqueueFire(pool, boss, { definition, fireTimeMs, dueAtMs: Date.now(), manual: true, runId, instance: 'cli', ...reopen }));
        if (outcome === 'duplicate' && atMs !== undefined) throw new CliError(`${escapeControl(id)}: not run: another run of the fire of ${new Date(atMs).toISOString()} was queued at the same moment`);
        summary = { job_id: id, run_id: runId, fire_time: new Date(fireTimeMs).toISOString(), state: outcome };
      }
      if (summary.state === 'skipped') {
        io.stderr(`${escapeControl(id)}: not run: a run of this job is already queued or active (overlap: ${target.overlap})\n`);
        if (values.json) io.stdout(JSON.stringify(summary) + '\n');
        return EXIT.failed;
      }
      if (!values.wait) {
        io.stdout(values.json ? JSON.stringify(summary) + '\n' : `queued ${id} run ${summary.run_id}\n`);
        return EXIT.ok;
      }
      let row;
      for (;;) {
        row = await fireByRunId(pool, summary.run_id);
        if ((row && FINAL.has(row.state)) || io.signal.aborted) break;
        await sleep(200);
      }
      const result = row?.result ?? summary;
      io.stdout(JSON.stringify(result, null, values.json ? undefined : 2) + '\n');
      return row?.state === 'succeeded' ? EXIT.ok : EXIT.failed;
    });
  },
};

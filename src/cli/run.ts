// jobsd run JOB_ID [--wait] [--json]: a manual run now, through the queue, respecting overlap.

import { setTimeout as sleep } from 'node:timers/promises';
import { PgBoss } from 'pg-boss';
import { loadDirectory } from '../definitions/directory.ts';
import { randomUUID } from 'node:crypto';
import { fireAt, fireByRunId } from '../db/ledger.ts';
import { migrate } from '../db/migrate.ts';
import { BOSS_SCHEMA, ensureQueues } from '../queue/boss.ts';
import { enqueueFire } from '../queue/enqueue-batch.ts';
import { fireId } from '../queue/fire-id.ts';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command.ts';
import { DATABASE_FLAGS, databaseUrl, withPool } from './database.ts';
import { jobsDir, loadOptions } from './settings.ts';

const usage = `Usage: jobsd run JOB_ID [--at ISO [--force]] [--wait] [--json] [--jobs-dir DIR] [--env NAME] [--database-url URL] [--data-dir DIR]

Queues a manual run of the job now, through the queue, so a running agent executes it and its overlap
mode applies (with overlap: skip, a run while another is queued or active is refused).
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
      'jobs-dir': { type: 'string' },
      env: { type: 'string' },
      wait: { type: 'boolean' },
      json: { type: 'boolean' },
      at: { type: 'string' },
      force: { type: 'boolean' },
    });
    if (values.force && values.at === undefined) throw new UsageError('--force goes with --at');
    const atMs = values.at === undefined ? undefined : Date.parse(values.at);
    if (atMs !== undefined && (!/^\d{4}-\d\d-\d\dT/.test(values.at!) || Number.isNaN(atMs))) throw new UsageError(`--at: "${values.at}" is not an ISO 8601 instant (2026-11-30T02:00:00Z)`);
    if (positionals.length !== 1) throw new UsageError('expected one JOB_ID');
    const id = positionals[0]!;
    const dir = jobsDir(values['jobs-dir'], io);
    const definition = loadDirectory(dir, loadOptions(values, io)).definitions.find((d) => d.id === id);
    if (!definition) {
      io.stderr(`jobsd run: no valid job "${id}" in ${dir} (jobsd validate ${dir} shows file errors)\n`);
      return EXIT.failed;
    }
    const url = databaseUrl(values, io);
    const fireTimeMs = atMs ?? Date.now();
    // A run at a chosen instant re-opens that fire's row: a fresh run id, as pg-boss keeps the ids it ran.
    const runId = atMs === undefined ? fireId(id, fireTimeMs) : randomUUID();
    const outcome = await withPool(url, async (pool) => {
      await migrate(pool);
      if (atMs !== undefined) {
        const before = await fireAt(pool, id, atMs);
        if (before && (before.state === 'queued' || before.state === 'running')) return { refused: `the fire of ${values.at} is ${before.state} now (run ${before.run_id})` };
        if (before?.state === 'succeeded' && !values.force) {
          return { refused: `the fire of ${new Date(atMs).toISOString()} succeeded at ${before.finished_at?.toISOString() ?? '?'} (run ${before.run_id}); --force runs it again` };
        }
      }
      const boss = new PgBoss({ connectionString: url, schema: BOSS_SCHEMA, schedule: false, supervise: false, registerInstance: false, max: 2 });
      boss.on('error', () => undefined);
      await boss.start();
      try {
        await ensureQueues(boss);
        const reopen = atMs === undefined ? {} : { reopen: values.force ? ('force' as const) : ('unless-succeeded' as const) };
        return await enqueueFire(pool, boss, { definition, fireTimeMs, dueAtMs: Date.now(), manual: true, runId, instance: 'cli', ...reopen });
      } finally {
        await boss.stop({ graceful: false, close: true });
      }
    });
    if (typeof outcome === 'object') {
      io.stderr(`${id}: not run: ${outcome.refused}\n`);
      return EXIT.failed;
    }
    if (outcome === 'duplicate' && atMs !== undefined) {
      io.stderr(`${id}: not run: another run of the fire of ${new Date(atMs).toISOString()} was queued at the same moment\n`);
      return EXIT.failed;
    }
    const summary = { job_id: id, run_id: runId, fire_time: new Date(fireTimeMs).toISOString(), state: outcome };
    if (outcome === 'skipped') {
      io.stderr(`${id}: not run: a run of this job is already queued or active (overlap: ${definition.overlap})\n`);
      if (values.json) io.stdout(JSON.stringify(summary) + '\n');
      return EXIT.failed;
    }
    if (!values.wait) {
      io.stdout(values.json ? JSON.stringify(summary) + '\n' : `queued ${id} run ${runId}\n`);
      return EXIT.ok;
    }
    const row = await withPool(url, async (pool) => {
      for (;;) {
        const found = await fireByRunId(pool, runId);
        if (found && FINAL.has(found.state)) return found;
        if (io.signal.aborted) return found;
        await sleep(200);
      }
    });
    const result = row?.result ?? summary;
    io.stdout(JSON.stringify(result, null, values.json ? undefined : 2) + '\n');
    return row?.state === 'succeeded' ? EXIT.ok : EXIT.failed;
  },
};

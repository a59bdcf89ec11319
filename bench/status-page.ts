// Status page: server render time with 10,000 jobs over a realistic ledger (a week of history: daily,
// hourly and five-minute jobs, 2 % failed, 0.5 % timed out, 0.5 % missed, each run with an output tail),
// through the agent's own database reads (src/agent-view.ts databaseReads) on an embedded PostgreSQL.
// The target is ≤ 200 ms. Shown next to it: the old page's read of every job's last fire (DISTINCT ON over
// the whole ledger), which grows with the runs kept, and a bare SELECT 1 round trip (the floor).

import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { databaseReads } from '../src/agent-view.ts';
import { lastFires } from '../src/db/ledger.ts';
import { migrate } from '../src/db/migrate.ts';
import { writePause } from '../src/db/pauses.ts';
import { loadDirectory } from '../src/definitions/directory.ts';
import type { FileError } from '../src/definitions/errors.ts';
import { renderJobPage } from '../src/http/job-page.ts';
import { parseListQuery } from '../src/http/job-list.ts';
import { renderStatusPage } from '../src/http/status-page.ts';
import type { AgentView } from '../src/http/view.ts';
import { nextFire } from '../src/schedule/next.ts';
import { startBenchPostgres } from './postgres.ts';
import type { Benchmark } from './run.ts';

const JOBS = 10_000;
const HISTORY_DAYS = 7;

/** 80 % daily (in Europe/Berlin), 18 % hourly, 2 % every five minutes. */
function jobFile(i: number): string {
  const kind = i % 50;
  const schedule = kind < 40 ? `{ cron: "${i % 60} ${i % 24} * * *", timezone: Europe/Berlin }` : kind < 49 ? `"${i % 60} * * * *"` : '"*/5 * * * *"';
  return `id: job-${i}\ndescription: generated job ${i}\nschedule: ${schedule}\ntask: { type: command, command: ["echo", "job ${i}"] }\n`;
}

/** The ledger: one row per fire of each job over HISTORY_DAYS, as the agent writes them. */
const LEDGER_SQL = `
INSERT INTO jobsd.fires (job_id, fire_time, run_id, manual, state, attempts, due_at, enqueued_at, started_at, finished_at, instance, result)
SELECT 'job-' || j, t, gen_random_uuid(), false, st, 1, t, t + interval '4 ms',
       CASE WHEN st = 'missed' THEN NULL ELSE t + interval '11 ms' END,
       CASE WHEN st = 'missed' THEN NULL ELSE t + interval '1.5 s' END,
       CASE WHEN st = 'missed' THEN NULL ELSE 'bench-agent' END,
       CASE WHEN st = 'missed' THEN jsonb_build_object('status', 'missed', 'message', 'missed: no agent was running')
            ELSE jsonb_build_object('status', st, 'message', CASE st WHEN 'succeeded' THEN 'exit code 0' WHEN 'failed' THEN 'exit code 1' ELSE 'timed out after 1h' END,
                                    'details', jsonb_build_object('exit_code', CASE WHEN st = 'succeeded' THEN 0 ELSE 1 END, 'output_tail', repeat('a line the job printed ' || j || E'\\n', 6))) END
FROM generate_series(0, $1::int - 1) AS j
CROSS JOIN LATERAL (SELECT CASE WHEN j % 50 < 40 THEN interval '1 day' WHEN j % 50 < 49 THEN interval '1 hour' ELSE interval '5 minutes' END AS step) k
CROSS JOIN LATERAL generate_series(date_trunc('hour', now()) - make_interval(days => $2::int), now() - interval '1 minute', k.step) AS t
CROSS JOIN LATERAL (SELECT (hashtext(j || '@' || t) & 65535) / 65536.0 AS r) x
CROSS JOIN LATERAL (SELECT CASE WHEN r < 0.02 THEN 'failed' WHEN r < 0.025 THEN 'timed_out' WHEN r < 0.03 THEN 'missed' ELSE 'succeeded' END AS st) s`;

const failingSql = `SELECT j.id, f.state FROM unnest(ARRAY['job-1', 'job-2']) AS j(id)
  CROSS JOIN LATERAL (SELECT state FROM jobsd.fires WHERE job_id = j.id AND state IN ('succeeded', 'failed', 'timed_out', 'partial') ORDER BY fire_time DESC LIMIT 1) f`;
const badSql = `SELECT job_id, count(*) FROM jobsd.fires WHERE fire_time >= now() - interval '1 day' AND state IN ('failed', 'timed_out', 'missed') GROUP BY job_id`;

/** The scans of a statement's plan: "Bitmap Index Scan on fires_bad, Index Scan on fires_pkey". */
async function scans(pool: pg.Pool, sql: string): Promise<string> {
  const { rows } = await pool.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) ${sql}`);
  const out: string[] = [];
  const walk = (node: PlanNode) => {
    if (node['Node Type'].includes('Scan')) out.push(`${node['Node Type']}${node['Index Name'] ? ` on \`${node['Index Name']}\`` : node['Relation Name'] ? ` of \`${node['Relation Name']}\`` : ''}`);
    for (const child of node.Plans ?? []) walk(child);
  };
  walk(rows[0]!['QUERY PLAN'][0].Plan);
  return out.join(', ');
}
interface PlanNode {
  'Node Type': string;
  'Index Name'?: string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

async function timed(iterations: number, fn: () => Promise<unknown>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < 3; i++) await fn(); // warm up
  const times: number[] = [];
  for (let i = 0; i < iterations; i++) {
    const t0 = performance.now();
    await fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { p50: percentile(times, 0.5), p99: percentile(times, 0.99) };
}

export const statusPageBenchmark: Benchmark = {
  name: 'status-page',
  title: 'Status page render with 10,000 jobs',
  async run({ quick }) {
    const iterations = quick ? 20 : 200;
    const days = quick ? 1 : HISTORY_DAYS;
    const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-bench-page-'));
    const bench = await startBenchPostgres('page');
    const pool = new pg.Pool({ connectionString: await bench.database('jobsd_page'), max: 10 });
    try {
      for (let i = 0; i < JOBS; i++) writeFileSync(path.join(dir, `job-${i}.yaml`), jobFile(i));
      const loaded = loadDirectory(dir, { env: process.env, defaultTimezone: 'UTC' });
      if (loaded.errors.length || loaded.definitions.length !== JOBS) throw new Error(`load failed: ${loaded.errors.length} errors`);
      await migrate(pool);
      const t0 = performance.now();
      await pool.query(LEDGER_SQL, [JOBS, days]);
      await pool.query('ANALYZE jobsd.fires');
      const ledgerMs = performance.now() - t0;
      const rows = Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM jobsd.fires')).rows[0]!.n);
      const byState = (await pool.query<{ state: string; n: number }>('SELECT state, count(*)::int AS n FROM jobsd.fires GROUP BY state ORDER BY state')).rows;
      const stateCounts = byState.map((r) => `${r.n.toLocaleString('en')} ${r.state}`).join(', ');
      const size = (await pool.query<{ s: string }>("SELECT pg_size_pretty(pg_total_relation_size('jobsd.fires')) AS s")).rows[0]!.s;
      for (let i = 0; i < 25; i++) await writePause(pool, { jobId: `job-${i * 397}`, by: 'operator', reason: 'maintenance' });
      await pool.query("INSERT INTO jobsd.instances (name, hostname, pid, role, version, jobs_dir, jobs) VALUES ('bench-agent', 'bench', 1, 'all', '0.1.0', $1, $2)", [dir, JOBS]);

      const definitions = loaded.definitions;
      const byId = new Map(definitions.map((d) => [d.id, d]));
      const now = Date.now();
      const next = new Map(definitions.map((d) => [d.id, nextFire(d.schedule, now) ?? undefined]));
      const fileErrors: FileError[] = [{ code: 'JOBSD_E_CRON', file: path.join(dir, 'job-7.yaml'), line: 3, column: 11, field: 'schedule.cron', message: '"61 * * * *": minute must be 0-59' }];
      const view: AgentView = {
        instance: 'bench-agent',
        version: '0.1.0',
        jobs: () => definitions,
        job: (id) => byId.get(id),
        fileErrors: () => fileErrors,
        nextFire: (id) => next.get(id),
        ...databaseReads(pool),
        runNow: () => Promise.reject(new Error('not in the benchmark')),
        pause: () => Promise.reject(new Error('not in the benchmark')),
        resume: () => Promise.reject(new Error('not in the benchmark')),
        writeJob: () => Promise.reject(new Error('not in the benchmark')),
        deleteJob: () => Promise.reject(new Error('not in the benchmark')),
        readiness: async () => null,
        metrics: async () => '',
      };
      const query = (q: string) => parseListQuery(new URL(`http://localhost/${q}`));
      const cases: [string, () => Promise<unknown>][] = [
        ['`/` (first page of 50, last 30 runs per timeline)', () => renderStatusPage(view, Date.now(), query(''))],
        ['`/?page=150` (a later page)', () => renderStatusPage(view, Date.now(), query('?page=150'))],
        ['`/?range=24h`', () => renderStatusPage(view, Date.now(), query('?range=24h'))],
        ['`/?page=200&range=7d` (a week of runs, at most 400 a job)', () => renderStatusPage(view, Date.now(), query('?page=200&range=7d'))],
        ['`/?q=job-99` (search)', () => renderStatusPage(view, Date.now(), query('?q=job-99'))],
        ['`/?filter=failing`', () => renderStatusPage(view, Date.now(), query('?filter=failing'))],
        ['`/jobs/job-9999` (a five-minute job: 50 runs with output)', () => renderJobPage(view, byId.get('job-9999')!, Date.now(), 'runs')],
      ];
      const lines: string[] = [];
      for (const [label, fn] of cases) {
        const { p50, p99 } = await timed(iterations, fn);
        lines.push(`| ${label} | ${p50.toFixed(1)} ms | ${p99.toFixed(1)} ms |`);
      }
      const html = await renderStatusPage(view, Date.now(), query(''));
      const ids = definitions.map((d) => d.id);
      const failing = await timed(iterations, () => view.lastResultStates(ids));
      const failingNow = [...(await view.lastResultStates(ids)).values()].filter((s) => s === 'failed' || s === 'timed_out').length;
      const plans = await Promise.all([failingSql, badSql].map((sql) => scans(pool, sql)));
      const old = await timed(Math.min(iterations, 20), () => lastFires(pool));
      const floor = await timed(iterations, () => pool.query('SELECT 1'));
      return [
        `${JOBS.toLocaleString('en')} jobs (80 % daily in Europe/Berlin, 18 % hourly, 2 % every five minutes) over ${days} days of ledger: ${rows.toLocaleString('en')} rows (${size}, written in ${(ledgerMs / 1000).toFixed(0)} s): ${stateCounts}; ${failingNow.toLocaleString('en')} jobs failing now, 25 paused, one file error.`,
        `The page's reads are those of the agent (\`databaseReads\`): each job's last result by a probe of the primary key, the last day's failures from the failed, timed out and missed fires alone (partial index \`fires_bad\`), and runs only for the 50 jobs on the page. ${iterations} renders per case, after 3 to warm up; the first page is ${(html.length / 1024).toFixed(0)} KiB of HTML. Target: ≤ 200 ms.`,
        '',
        '| page | p50 | p99 |',
        '| --- | ---: | ---: |',
        ...lines,
        `| of which: the last result of every job (\`lastResultStates\`, 10,000 index probes) | ${failing.p50.toFixed(1)} ms | ${failing.p99.toFixed(1)} ms |`,
        `| the old page's read of every job's last fire (\`DISTINCT ON\` over the whole ledger) alone | ${old.p50.toFixed(1)} ms | ${old.p99.toFixed(1)} ms |`,
        `| floor: \`SELECT 1\` round trip | ${floor.p50.toFixed(2)} ms | ${floor.p99.toFixed(2)} ms |`,
        '',
        `How PostgreSQL reads the summary (EXPLAIN): each job's last result by ${plans[0]}; the last day's failures by ${plans[1]}.`,
      ].join('\n');
    } finally {
      await pool.end();
      await bench.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};

// Throughput: runs per second end to end with a trivial `http` task (a GET to a local server answering `ok`),
// with 1 and 2 agents on one database and one jobs.d, offered more fires than they can run, next to
// graphile-worker draining a backlog of the same task on the same PostgreSQL, in the same run.
// BENCH_NODE_FLAGS (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof") is passed to the agents: they are stopped
// with SIGTERM, so that a profile is written.
import { NODE_FLAGS } from '../src/cli/node-flags.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { awaitAgents, postgresCpuMs } from './agents.ts';
import { startBenchPostgres } from './postgres.ts';
import type { Benchmark } from './run.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const CONCURRENCY = 32; // the agent's default on 2 cores; the peer gets the same

async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(
      (c) =>
        new Promise<void>((resolve) => {
          if (c.exitCode !== null || c.signalCode !== null) return resolve();
          const kill = setTimeout(() => c.kill('SIGKILL'), 15_000);
          c.once('exit', () => {
            clearTimeout(kill);
            resolve();
          });
          c.kill('SIGTERM');
        }),
    ),
  );
}

interface Counter {
  hits: Map<string, number>;
}

const hitsOf = (counter: Counter, prefix: string) => counter.hits.get(prefix) ?? 0;

/** jobsd: `jobs` jobs every second on `agents` agents; runs completed per second over `seconds`. */
async function measureJobsd(url: string, agents: number, jobs: number, seconds: number, target: string, counter: Counter) {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-bench-throughput-'));
  for (let i = 0; i < jobs; i++) {
    writeFileSync(path.join(dir, `hit-${i}.yaml`), `schedule: every 1s\noverlap: allow\ntask: { type: http, url: "${target}/hit/${i}", timeout: 10s }\n`);
  }
  const extra = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const children = Array.from({ length: agents }, (_, i) =>
    spawn(process.execPath, [...NODE_FLAGS, ...extra, path.join(ROOT, 'bin/jobsd.js'), 'start', '--jobs-dir', dir, '--database-url', url, '--instance', `throughput-${i}`, '--http', 'off', '--grace', '1'], {
      cwd: ROOT,
      env: { ...process.env, JOBSD_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await awaitAgents(client, agents);
    const from = Math.ceil(Date.now() / 1000) + 6;
    const to = from + seconds;
    await sleep(from * 1000 - Date.now());
    const hits0 = hitsOf(counter, 'hit');
    const cpu0 = postgresCpuMs();
    await sleep(to * 1000 - Date.now());
    const hits = hitsOf(counter, 'hit') - hits0;
    const dbCpuMs = postgresCpuMs() - cpu0;
    await sleep(1_500);
    // Capacity: runs that finished in the window, whatever their fire time (a backlog still counts).
    const { rows } = await client.query<{ n: string; late: number | null }>(
      `SELECT count(*) AS n, percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - fire_time)) * 1000 AS late
         FROM jobsd.fires WHERE state = 'succeeded' AND finished_at >= to_timestamp($1) AND finished_at < to_timestamp($2)`,
      [from, to],
    );
    const succeeded = Number(rows[0]?.n ?? 0);
    return { perSecond: succeeded / seconds, hitsPerSecond: hits / seconds, p99: rows[0]?.late ?? NaN, dbCpuPerRunMs: dbCpuMs / Math.max(1, succeeded) };
  } finally {
    await stopAll(children);
    await client.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** graphile-worker: `workers` processes draining a backlog of `backlog` jobs; jobs done per second over `seconds`. */
async function measureGraphile(url: string, workers: number, backlog: number, seconds: number, target: string, counter: Counter) {
  const peer = path.join(ROOT, 'bench/peers/graphile-throughput.ts');
  const before = hitsOf(counter, 'graphile');
  await new Promise<void>((resolve, reject) => {
    const fill = spawn(process.execPath, [peer, 'fill', url, String(backlog), target], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
    fill.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`graphile-worker fill exited with ${code}`))));
  });
  const children = Array.from({ length: workers }, () => spawn(process.execPath, [peer, 'work', url, String(CONCURRENCY)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] }));
  try {
    await Promise.all(
      children.map(
        (c) =>
          new Promise<void>((resolve, reject) => {
            let seen = '';
            c.stdout!.on('data', (d: Buffer) => {
              if (seen.length < 10_000) seen += d.toString();
              if (seen.includes('ready')) resolve();
            });
            c.on('exit', (code) => reject(new Error(`graphile-worker exited with ${code}: ${seen.slice(-500)}`)));
          }),
      ),
    );
    await sleep(5_000);
    const hits0 = hitsOf(counter, 'graphile');
    const cpu0 = postgresCpuMs();
    await sleep(seconds * 1000);
    const hits = hitsOf(counter, 'graphile') - hits0;
    const dbCpuMs = postgresCpuMs() - cpu0;
    if (hitsOf(counter, 'graphile') - before >= backlog) throw new Error('the graphile-worker backlog ran out during the window: make it larger');
    return { perSecond: hits / seconds, dbCpuPerRunMs: dbCpuMs / Math.max(1, hits) };
  } finally {
    await stopAll(children);
  }
}

/** The statements of a database since the last reset, per run (on stderr: what a profile starts from). */
async function topStatements(admin: pg.Client, database: string, runs: number): Promise<void> {
  const { rows } = await admin.query<{ calls: string; ms: number; query: string }>(
    `SELECT calls, total_exec_time AS ms, left(regexp_replace(query, '\\s+', ' ', 'g'), 90) AS query FROM pg_stat_statements s
       JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1 ORDER BY total_exec_time DESC LIMIT 8`,
    [database],
  );
  process.stderr.write(`    ${database}: the statements taking the most time (whole run, per run counted in the window)\n`);
  for (const r of rows) process.stderr.write(`    ${(Number(r.calls) / runs).toFixed(3)} calls/run ${(r.ms / Number(r.calls)).toFixed(2)} ms each ${r.query}\n`);
}

export const throughputBenchmark: Benchmark = {
  name: 'throughput',
  title: 'Throughput: runs per second end to end (http task), 1 and 2 agents, next to graphile-worker',
  async run({ quick }) {
    const jobs = quick ? 1000 : 3000;
    const seconds = quick ? 10 : 20;
    const backlog = quick ? 40_000 : 150_000;
    const counter: Counter = { hits: new Map() };
    const server = createServer((req, res) => {
      const prefix = req.url!.split('/')[1]!;
      counter.hits.set(prefix, (counter.hits.get(prefix) ?? 0) + 1);
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const db = await startBenchPostgres('throughput', ['-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track=top']);
    await db.admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const rows: string[] = [];
    try {
      for (const agents of [1, 2]) {
        process.stderr.write(`  jobsd, ${agents} agent(s), ${jobs} jobs every second\n`);
        await db.admin.query('SELECT pg_stat_statements_reset()');
        const r = await measureJobsd(await db.database(`throughput_${agents}`), agents, jobs, seconds, target, counter);
        await topStatements(db.admin, `throughput_${agents}`, r.perSecond * seconds);
        rows.push(`| jobsd, ${agents} agent${agents > 1 ? 's' : ''} (${jobs} jobs firing every second) | ${r.perSecond.toFixed(0)} | ${Math.round(r.p99)} ms | ${r.dbCpuPerRunMs.toFixed(2)} |`);
      }
      for (const workers of [1, 2]) {
        process.stderr.write(`  graphile-worker, ${workers} process(es), a backlog of ${backlog}\n`);
        await db.admin.query('SELECT pg_stat_statements_reset()');
        const r = await measureGraphile(await db.database(`throughput_graphile_${workers}`), workers, backlog, seconds, target, counter);
        await topStatements(db.admin, `throughput_graphile_${workers}`, r.perSecond * seconds);
        rows.push(`| graphile-worker 0.18, ${workers} process${workers > 1 ? 'es' : ''} (a backlog of ${backlog.toLocaleString('en-US')} jobs) | ${r.perSecond.toFixed(0)} | — | ${r.dbCpuPerRunMs.toFixed(2)} |`);
      }
    } finally {
      await db.stop();
      server.close();
    }
    return [
      `jobsd: ${jobs} jobs firing every second (\`overlap: allow\`, an \`http\` GET to a local server answering \`ok\`), more than`,
      `the agents can run, for ${seconds} s after a warm-up of 6 s; the runs that finished successfully during the window are counted in`,
      'the ledger (whatever their fire time: this is the capacity, backlog included), with the lateness of those runs.',
      `graphile-worker, on the same PostgreSQL in the same run: its own job throughput, ${CONCURRENCY} jobs at once per process`,
      "(jobsd's default concurrency on 2 cores), draining a backlog of jobs whose task is the same GET (`fetch`), counted at the",
      `server over ${seconds} s after a warm-up of 5 s. PostgreSQL CPU per run: the server's processes, from /proc, over the window.`,
      'Target: ≥ 2,000 runs/s with 2 agents, and ≥ 1× graphile-worker with 2 processes.',
      '',
      '| system | runs completed / s | lateness p99 of those runs | PostgreSQL CPU ms / run |',
      '| --- | ---: | ---: | ---: |',
      ...rows,
    ].join('\n');
  },
};

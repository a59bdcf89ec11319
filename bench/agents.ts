// More agents, same load: SQL statements and PostgreSQL CPU per fire with 1, 2 and 4 agents on one database
// and one jobs.d (pg_stat_statements, every statement counted; CPU of the server's processes from /proc), and
// the statements and server CPU of the same agents idle, per agent.
import { descendants, parentOf } from './proc.ts';
import { NODE_FLAGS } from '../src/cli/node-flags.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { startBenchPostgres } from './postgres.ts';
import type { Benchmark } from './run.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

/**
 * CPU ms used so far by the PostgreSQL processes this benchmark started (its descendants named postgres),
 * the backends that have exited included (their parent's cutime and cstime).
 */
export function postgresCpuMs(): number {
  const procs = descendants();
  let ms = 0;
  for (const p of procs) {
    if (!p.comm.startsWith('postgres')) continue;
    ms += p.ownMs;
    // The postmaster's reaped children are backends; a backend's own children (none) would not be.
    if (parentOf(procs, p)?.comm.startsWith('postgres') !== true) ms += p.childrenMs;
  }
  return ms;
}

/** utime + stime of a process, in ms. */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) * 10;
}

export function startAgents(url: string, dir: string, count: number, label: string, args: string[] = [], env: NodeJS.ProcessEnv = {}): ChildProcess[] {
  return Array.from({ length: count }, (_, i) =>
    spawn(process.execPath, [...NODE_FLAGS, path.join(ROOT, 'bin/jobsd.js'), 'start', '--jobs-dir', dir, '--database-url', url, '--instance', `${label}-${i}`, '--http', 'off', ...args], {
      cwd: ROOT,
      env: { ...process.env, JOBSD_LOG_LEVEL: 'warn', ...env },
      stdio: ['ignore', 'ignore', 'inherit'],
    }),
  );
}

/** Waits until `count` agents are registered in the database. */
export async function awaitAgents(client: pg.Client, count: number): Promise<void> {
  for (let waited = 0; ; waited += 250) {
    const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM jobsd.instances`).catch(() => ({ rows: [{ n: '0' }] }));
    if (Number(rows[0]!.n) >= count) return;
    if (waited > 60_000) throw new Error('agents did not register');
    await sleep(250);
  }
}

interface Window {
  statements: number;
  dbCpuMs: number;
  agentCpuMs: number;
  fires: number;
  top: Array<{ calls: number; query: string }>;
}

/** Statements, server CPU and fires over `ms` on database `name`, from now. */
async function measureWindow(admin: pg.Client, name: string, client: pg.Client, agents: ChildProcess[], ms: number): Promise<Window> {
  const { rows: db } = await admin.query<{ oid: number }>(`SELECT oid FROM pg_database WHERE datname = $1`, [name]);
  const oid = db[0]!.oid;
  await admin.query('SELECT pg_stat_statements_reset(0, $1, 0)', [oid]);
  const from = Date.now();
  const cpu0 = postgresCpuMs();
  const agentCpu0 = agents.reduce((s, c) => s + processCpuMs(c.pid!), 0);
  await sleep(ms);
  const cpu1 = postgresCpuMs();
  const agentCpu1 = agents.reduce((s, c) => s + processCpuMs(c.pid!), 0);
  const to = Date.now();
  const { rows } = await admin.query<{ calls: string; query: string }>(
    `SELECT calls, left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS query FROM pg_stat_statements WHERE dbid = $1 ORDER BY calls DESC`,
    [oid],
  );
  // Fires are enqueued 500 ms ahead of their time: those enqueued in the window.
  const { rows: fires } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM jobsd.fires WHERE fire_time >= to_timestamp($1 / 1000.0) AND fire_time < to_timestamp($2 / 1000.0)`,
    [from + 500, to + 500],
  );
  return {
    statements: rows.reduce((s, r) => s + Number(r.calls), 0),
    dbCpuMs: cpu1 - cpu0,
    agentCpuMs: agentCpu1 - agentCpu0,
    fires: Number(fires[0]!.n),
    top: rows.slice(0, 20).map((r) => ({ calls: Number(r.calls), query: r.query })),
  };
}

/** The statements of the windows, as rows of calls per fire, the largest first. */
function statementRows(windows: Window[]): string[] {
  const queries = [...new Set(windows.flatMap((w) => w.top.map((t) => t.query)))];
  const perFire = (w: Window, q: string) => (w.top.find((t) => t.query === q)?.calls ?? 0) / w.fires;
  queries.sort((a, b) => perFire(windows.at(-1)!, b) - perFire(windows.at(-1)!, a));
  return queries.slice(0, 14).map((q) => `| \`${q.replace(/\|/g, '\\|')}\` | ${windows.map((w) => perFire(w, q).toFixed(3)).join(' | ')} |`);
}

export const agentsBenchmark: Benchmark = {
  name: 'agents',
  title: 'More agents, same load: SQL statements and PostgreSQL CPU per fire with 1, 2 and 4 agents',
  async run({ quick }) {
    const jobs = quick ? 50 : 100;
    const loadMs = quick ? 15_000 : 40_000;
    const idleMs = quick ? 20_000 : 60_000;
    const warmupMs = quick ? 8_000 : 15_000;
    const counts = [1, 2, 4];
    const server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const pgsql = await startBenchPostgres('agents', ['-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track=all', '-c', 'pg_stat_statements.max=10000']);
    await pgsql.admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const load: Array<{ agents: number; w: Window }> = [];
    const idle: Array<{ agents: number; w: Window }> = [];
    const checks: string[] = [];
    try {
      for (const agents of counts) {
        // Under load: `jobs` http jobs every second (default overlap: skip).
        const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-bench-agents-'));
        for (let i = 0; i < jobs; i++) writeFileSync(path.join(dir, `hit-${i}.yaml`), `schedule: every 1s\ntask: { type: http, url: "${target}/hit/${i}", timeout: 10s }\n`);
        const name = `agents_load_${agents}`;
        const url = await pgsql.database(name);
        const children = startAgents(url, dir, agents, 'load');
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          await awaitAgents(client, agents);
          process.stderr.write(`  ${agents} agent(s), ${jobs} fires a second\n`);
          await sleep(warmupMs);
          load.push({ agents, w: await measureWindow(pgsql.admin, name, client, children, loadMs) });
          await sleep(3_000);
          const { rows } = await client.query<{ state: string; n: string }>(`SELECT state, count(*) AS n FROM jobsd.fires GROUP BY 1 ORDER BY 1`);
          checks.push(`${agents}: ${rows.map((r) => `${r.n} ${r.state}`).join(', ')}`);
        } finally {
          for (const c of children) c.kill('SIGKILL');
          await client.end();
          rmSync(dir, { recursive: true, force: true });
        }
      }
      for (const agents of counts) {
        // Idle: 10 jobs that fire once a day, at 03:xx.
        const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-bench-agents-idle-'));
        for (let i = 0; i < 10; i++) writeFileSync(path.join(dir, `daily-${i}.yaml`), `schedule: "${i} 3 * * *"\ntask: { type: command, command: ["true"] }\n`);
        const name = `agents_idle_${agents}`;
        const url = await pgsql.database(name);
        const children = startAgents(url, dir, agents, 'idle');
        const client = new pg.Client({ connectionString: url });
        await client.connect();
        try {
          await awaitAgents(client, agents);
          process.stderr.write(`  ${agents} idle agent(s)\n`);
          await sleep(warmupMs);
          idle.push({ agents, w: await measureWindow(pgsql.admin, name, client, children, idleMs) });
        } finally {
          for (const c of children) c.kill('SIGKILL');
          await client.end();
          rmSync(dir, { recursive: true, force: true });
        }
      }
    } finally {
      await pgsql.stop();
      server.close();
    }
    const perMin = (w: Window, ms: number, n: number, v: number) => ((v * 60_000) / ms / n).toFixed(1);
    process.stderr.write(checks.join('\n') + '\n');
    return [
      `${jobs} \`http\` jobs firing every second (\`every 1s\`, default \`overlap: skip\`, a GET to a local server), on 1, 2 and 4 agents`,
      `sharing one database and one jobs.d; after a warm-up of ${warmupMs / 1000} s, every statement of that database is counted for`,
      `${loadMs / 1000} s (pg_stat_statements, \`track=all\`: statements inside functions too), with the CPU of the PostgreSQL`,
      'server\'s processes (the backends that exited included, from /proc), divided by the fires of the window.',
      'Target: the per-fire figures do not grow with the number of agents.',
      '',
      '| agents | fires | statements / fire | PostgreSQL CPU ms / fire | agents\' CPU ms / fire (all agents) |',
      '| ---: | ---: | ---: | ---: | ---: |',
      ...load.map(({ agents, w }) => `| ${agents} | ${w.fires} | ${(w.statements / w.fires).toFixed(2)} | ${(w.dbCpuMs / w.fires).toFixed(3)} | ${(w.agentCpuMs / w.fires).toFixed(3)} |`),
      '',
      `Idle (10 jobs firing once a day), over ${idleMs / 1000} s:`,
      '',
      '| agents | statements / min, all agents | statements / min / agent | PostgreSQL CPU ms / min, all agents |',
      '| ---: | ---: | ---: | ---: |',
      ...idle.map(({ agents, w }) => `| ${agents} | ${perMin(w, idleMs, 1, w.statements)} | ${perMin(w, idleMs, agents, w.statements)} | ${perMin(w, idleMs, 1, w.dbCpuMs)} |`),
      '',
      'Statements per fire under load, by statement (the largest):',
      '',
      `| statement | ${load.map(({ agents }) => `${agents} agent${agents > 1 ? 's' : ''}`).join(' | ')} |`,
      `| --- | ${load.map(() => '---:').join(' | ')} |`,
      ...statementRows(load.map(({ w }) => w)),
    ].join('\n');
  },
};

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
  top: Array<{ calls: number; ms: number; query: string }>;
  /** PostgreSQL CPU in the window by process role (an agent's pool, pg-boss, listener; the server's own processes). */
  roles: Map<string, { cpuMs: number; backends: number; opened: number }>;
}

/** The server's processes now, by pid: role (from pg_stat_activity) and CPU so far. */
async function serverProcesses(admin: pg.Client): Promise<{ byPid: Map<number, { role: string; cpuMs: number }>; exitedMs: number }> {
  const { rows } = await admin.query<{ pid: number; backend_type: string; application_name: string }>(`SELECT pid, backend_type, application_name FROM pg_stat_activity`);
  const procs = descendants().filter((p) => p.comm.startsWith('postgres'));
  const byPid = new Map<number, { role: string; cpuMs: number }>();
  let exitedMs = 0;
  for (const p of procs) {
    const row = rows.find((r) => r.pid === p.pid);
    const postmaster = parentOf(procs, p) === undefined;
    if (postmaster) exitedMs += p.childrenMs;
    let role = postmaster ? 'postmaster' : (row?.backend_type ?? 'other server process');
    const agent = row?.backend_type === 'client backend' ? /^jobsd (\S+)(?: \((.+)\))?$/.exec(row.application_name) : null;
    if (row?.backend_type === 'client backend') role = agent ? `agent: ${agent[2] ?? 'pool'}` : 'benchmark';
    byPid.set(p.pid, { role, cpuMs: p.ownMs });
  }
  return { byPid, exitedMs };
}

/** Statements, server CPU and fires over `ms` on database `name`, from now. */
async function measureWindow(admin: pg.Client, name: string, client: pg.Client, agents: ChildProcess[], ms: number): Promise<Window> {
  const { rows: db } = await admin.query<{ oid: number }>(`SELECT oid FROM pg_database WHERE datname = $1`, [name]);
  const oid = db[0]!.oid;
  await admin.query('SELECT pg_stat_statements_reset(0, $1, 0)', [oid]);
  const from = Date.now();
  const cpu0 = postgresCpuMs();
  // Each server process's CPU, sampled every second: a backend that exits in the window is counted up to
  // its last sample by its role, and what it used after that (or a backend opened and closed between two
  // samples) by the postmaster's reaped children.
  const start = await serverProcesses(admin);
  const seen = new Map<number, { role: string; first: number; last: number }>();
  for (const [pid, p] of start.byPid) seen.set(pid, { role: p.role, first: p.cpuMs, last: p.cpuMs });
  const agentCpu0 = agents.reduce((s, c) => s + processCpuMs(c.pid!), 0);
  let end = start;
  for (const until = from + ms; Date.now() < until; ) {
    await sleep(Math.min(1_000, until - Date.now()));
    end = await serverProcesses(admin);
    for (const [pid, p] of end.byPid) {
      const s = seen.get(pid);
      if (s) s.last = p.cpuMs;
      else seen.set(pid, { role: p.role, first: 0, last: p.cpuMs }); // opened in the window
    }
  }
  const cpu1 = postgresCpuMs();
  const agentCpu1 = agents.reduce((s, c) => s + processCpuMs(c.pid!), 0);
  const to = Date.now();
  const { rows } = await admin.query<{ calls: string; ms: number; query: string }>(
    `SELECT calls, total_exec_time + total_plan_time AS ms, left(regexp_replace(query, '\\s+', ' ', 'g'), 100) AS query FROM pg_stat_statements WHERE dbid = $1 ORDER BY calls DESC`,
    [oid],
  );
  // Fires are enqueued 500 ms ahead of their time: those enqueued in the window.
  const { rows: fires } = await client.query<{ n: string }>(
    `SELECT count(*) AS n FROM jobsd.fires WHERE fire_time >= to_timestamp($1 / 1000.0) AND fire_time < to_timestamp($2 / 1000.0)`,
    [from + 500, to + 500],
  );
  const roles = new Map<string, { cpuMs: number; backends: number; opened: number }>();
  const add = (role: string, cpuMs: number, backends: number, opened: number) => {
    const r = roles.get(role) ?? { cpuMs: 0, backends: 0, opened: 0 };
    roles.set(role, { cpuMs: r.cpuMs + cpuMs, backends: r.backends + backends, opened: r.opened + opened });
  };
  let goneMs = 0;
  for (const [pid, p] of seen) {
    const there = end.byPid.has(pid);
    if (!there) goneMs += p.last;
    add(p.role, p.last - p.first, there ? 1 : 0, start.byPid.has(pid) ? 0 : 1);
  }
  add('exited backends after their last sample', end.exitedMs - start.exitedMs - goneMs, 0, 0);
  return {
    statements: rows.reduce((s, r) => s + Number(r.calls), 0),
    dbCpuMs: cpu1 - cpu0,
    agentCpuMs: agentCpu1 - agentCpu0,
    fires: Number(fires[0]!.n),
    top: rows.map((r) => ({ calls: Number(r.calls), ms: Number(r.ms), query: r.query })),
    roles,
  };
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
/** `median` alone for one value, `median (min–max)` for several. */
const spread = (xs: number[], digits: number) => (xs.length === 1 ? xs[0]!.toFixed(digits) : `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${Math.max(...xs).toFixed(digits)})`);

/** The statements of the windows, as rows of calls and ms per fire (medians per agent count), the most time first. */
function statementRows(byCount: Window[][]): string[] {
  const queries = [...new Set(byCount.flat().flatMap((w) => w.top.map((t) => t.query)))];
  const of = (w: Window, q: string) => w.top.find((t) => t.query === q);
  const calls = (ws: Window[], q: string) => median(ws.map((w) => (of(w, q)?.calls ?? 0) / w.fires));
  const ms = (ws: Window[], q: string) => median(ws.map((w) => (of(w, q)?.ms ?? 0) / w.fires));
  queries.sort((a, b) => ms(byCount.at(-1)!, b) - ms(byCount.at(-1)!, a));
  const total = (ws: Window[]) => median(ws.map((w) => w.top.reduce((s, t) => s + t.ms, 0) / w.fires));
  return [
    ...queries.slice(0, 14).map((q) => `| \`${q.replace(/\|/g, '\\|')}\` | ${byCount.map((ws) => `${calls(ws, q).toFixed(3)} / ${(ms(ws, q) * 1000).toFixed(1)}`).join(' | ')} |`),
    `| all statements: µs of execution and planning per fire | ${byCount.map((ws) => (total(ws) * 1000).toFixed(1)).join(' | ')} |`,
  ];
}

/** PostgreSQL CPU per fire by process role, medians per agent count, with the backends and those opened in the window. */
function roleRows(byCount: Window[][]): string[] {
  const roles = [...new Set(byCount.flat().flatMap((w) => [...w.roles.keys()]))];
  const cpu = (ws: Window[], role: string) => median(ws.map((w) => (w.roles.get(role)?.cpuMs ?? 0) / w.fires));
  const n = (ws: Window[], role: string, k: 'backends' | 'opened') => median(ws.map((w) => w.roles.get(role)?.[k] ?? 0));
  roles.sort((a, b) => cpu(byCount.at(-1)!, b) - cpu(byCount.at(-1)!, a));
  return roles.map((role) => `| ${role} | ${byCount.map((ws) => `${cpu(ws, role).toFixed(3)} (${n(ws, role, 'backends')}/${n(ws, role, 'opened')})`).join(' | ')} |`);
}

/** The header of a table with a column per agent count. */
function byCountHeader(first: string, counts: readonly number[]): string[] {
  return [`| ${first} | ${counts.map((n) => `${n} agent${n > 1 ? 's' : ''}`).join(' | ')} |`, `| --- | ${counts.map(() => '---:').join(' | ')} |`];
}

export const agentsBenchmark: Benchmark = {
  name: 'agents',
  title: 'More agents, same load: SQL statements and PostgreSQL CPU per fire with 1, 2 and 4 agents',
  async run({ quick, repeat = 1 }) {
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
    const load = new Map<number, Window[]>(counts.map((n) => [n, []]));
    const idle: Array<{ agents: number; w: Window }> = [];
    const checks: string[] = [];
    try {
      // Interleaved (1, 2, 4, 1, 2, 4, ...): drift on a shared machine falls on every count alike.
      for (let round = 0; round < repeat; round++) for (const agents of counts) {
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
          process.stderr.write(`  ${agents} agent(s), ${jobs} fires a second${repeat > 1 ? ` (round ${round + 1} of ${repeat})` : ''}\n`);
          await sleep(warmupMs);
          const w = await measureWindow(pgsql.admin, name, client, children, loadMs);
          load.get(agents)!.push(w);
          process.stderr.write(`    ${(w.statements / w.fires).toFixed(2)} statements/fire, PostgreSQL ${(w.dbCpuMs / w.fires).toFixed(3)} ms/fire, agents ${(w.agentCpuMs / w.fires).toFixed(3)} ms/fire\n`);
          await sleep(3_000);
          const { rows } = await client.query<{ state: string; n: string }>(`SELECT state, count(*) AS n FROM jobsd.fires GROUP BY 1 ORDER BY 1`);
          checks.push(`${agents}: ${rows.map((r) => `${r.n} ${r.state}`).join(', ')}`);
        } finally {
          for (const c of children) c.kill('SIGKILL');
          await client.end();
          rmSync(dir, { recursive: true, force: true });
          // One database at a time: an idle one left behind would still be visited by autovacuum.
          await pgsql.admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
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
          await pgsql.admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
        }
      }
    } finally {
      await pgsql.stop();
      server.close();
    }
    const perMin = (w: Window, ms: number, n: number, v: number) => ((v * 60_000) / ms / n).toFixed(1);
    process.stderr.write(checks.join('\n') + '\n');
    const byCount = counts.map((n) => load.get(n)!);
    const col = (ws: Window[], f: (w: Window) => number, digits: number) => spread(ws.map(f), digits);
    return [
      `${jobs} \`http\` jobs firing every second (\`every 1s\`, default \`overlap: skip\`, a GET to a local server), on 1, 2 and 4 agents`,
      `sharing one database and one jobs.d; after a warm-up of ${warmupMs / 1000} s, every statement of that database is counted for`,
      `${loadMs / 1000} s (pg_stat_statements, \`track=all\`: statements inside functions too), with the CPU of the PostgreSQL`,
      'server\'s processes (the backends that exited included, from /proc), divided by the fires of the window.',
      repeat > 1
        ? `Each count measured ${repeat} times, interleaved (1, 2, 4, 1, 2, 4, ...), each time on fresh agents and a fresh database: median (min–max).`
        : 'Each count measured once (`--repeat=N` measures each N times, interleaved).',
      'Target: the per-fire figures do not grow with the number of agents.',
      '',
      '| agents | fires | statements / fire | PostgreSQL CPU ms / fire | agents\' CPU ms / fire (all agents) |',
      '| ---: | ---: | ---: | ---: | ---: |',
      ...byCount.map((ws, i) => `| ${counts[i]} | ${col(ws, (w) => w.fires, 0)} | ${col(ws, (w) => w.statements / w.fires, 2)} | ${col(ws, (w) => w.dbCpuMs / w.fires, 3)} | ${col(ws, (w) => w.agentCpuMs / w.fires, 3)} |`),
      '',
      'PostgreSQL CPU ms per fire by process (/proc of each, its role from `pg_stat_activity`; medians), with',
      '(processes at the end of the window / processes opened during it); an agent\'s roles summed over the agents:',
      '',
      ...byCountHeader('process', counts),
      ...roleRows(byCount),
      '',
      `Idle (10 jobs firing once a day), over ${idleMs / 1000} s:`,
      '',
      '| agents | statements / min, all agents | statements / min / agent | PostgreSQL CPU ms / min, all agents |',
      '| ---: | ---: | ---: | ---: |',
      ...idle.map(({ agents, w }) => `| ${agents} | ${perMin(w, idleMs, 1, w.statements)} | ${perMin(w, idleMs, agents, w.statements)} | ${perMin(w, idleMs, 1, w.dbCpuMs)} |`),
      '',
      'Statements under load, by statement (the most time first): calls per fire / µs of execution and planning per fire (medians):',
      '',
      ...byCountHeader('statement', counts),
      ...statementRows(byCount),
    ].join('\n');
  },
};

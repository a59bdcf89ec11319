// Idle cost: SQL statements per minute (pg_stat_statements) and CPU per minute of one idle process, for
// jobsd and, in the same run on the same PostgreSQL, pg-boss (schedule + work) and graphile-worker (crontab).
import { NODE_FLAGS } from '../src/cli/node-flags.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createBoss, MAINTENANCE_SECONDS } from '../src/queue/boss.ts';
import { startBenchPostgres } from './postgres.ts';
import type { Benchmark } from './run.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const TICKS_PER_SECOND = 100; // Linux USER_HZ

/** utime + stime of a process, in ms. */
export function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / TICKS_PER_SECOND;
}

async function waitForLine(child: ChildProcess, pattern: RegExp, what: string): Promise<void> {
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what} did not start: ${seen.slice(-2000)}`)), 60_000);
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (pattern.test(seen)) {
        clearTimeout(timer);
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`${what} exited with ${code}: ${seen.slice(-2000)}`)));
  });
}

export interface Subject {
  name: string;
  database: string;
  start: (url: string) => ChildProcess;
  ready: RegExp;
  /**
   * Work the subject does less often than the window catches (jobsd: a pg-boss maintenance pass every
   * 10 min): run once here, its statements counted and spread over its period.
   */
  periodic?: { everyMinutes: number; run: (url: string) => Promise<() => Promise<void>> };
}

export async function measureIdle(subjects: Subject[], windowMs: number, warmupMs: number) {
  const db = await startBenchPostgres('idle', ['-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track=all']);
  const { admin } = db;
  const children: ChildProcess[] = [];
  try {
    await admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const urls = [];
    for (const s of subjects) urls.push(await db.database(s.database));
    for (const [i, s] of subjects.entries()) {
      const child = s.start(urls[i]!);
      children.push(child);
      await waitForLine(child, s.ready, s.name);
    }
    await sleep(warmupMs);
    await admin.query('SELECT pg_stat_statements_reset()');
    const cpuBefore = children.map((c) => cpuMs(c.pid!));
    await sleep(windowMs);
    const cpuAfter = children.map((c) => cpuMs(c.pid!));
    const { rows } = await admin.query<{ datname: string; calls: string }>(
      `SELECT d.datname, sum(s.calls) AS calls FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid GROUP BY 1`,
    );
    const top = await admin.query<{ datname: string; calls: string; query: string }>(
      `SELECT d.datname, s.calls, left(regexp_replace(s.query, '\\s+', ' ', 'g'), 110) AS query FROM pg_stat_statements s
         JOIN pg_database d ON d.oid = s.dbid ORDER BY s.calls DESC LIMIT 40`,
    );
    const perMinute = 60_000 / windowMs;
    const periodic = new Map<string, number>();
    for (const [i, s] of subjects.entries()) {
      if (!s.periodic) continue;
      const runPass = await s.periodic.run(urls[i]!); // set up before the reset: only the pass is counted
      await admin.query('SELECT pg_stat_statements_reset()');
      await runPass();
      const { rows: pass } = await admin.query<{ calls: string }>(
        `SELECT sum(s.calls) AS calls FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1`,
        [s.database],
      );
      periodic.set(s.name, Number(pass[0]?.calls ?? 0) / s.periodic.everyMinutes);
    }
    return subjects.map((s, i) => ({
      name: s.name,
      periodicPerMinute: periodic.get(s.name),
      statementsPerMinute: Number(rows.find((r) => r.datname === s.database)?.calls ?? 0) * perMinute + (periodic.get(s.name) ?? 0),
      cpuMsPerMinute: (cpuAfter[i]! - cpuBefore[i]!) * perMinute,
      top: top.rows.filter((r) => r.datname === s.database).slice(0, Number(process.env.TOP ?? 8)).map((r) => ({ calls: Number(r.calls) * perMinute, query: r.query })),
    }));
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await db.stop();
  }
}

function jobsdSubject(jobs: number): Subject {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-bench-idle-jobs-'));
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < jobs; i++) writeFileSync(path.join(dir, `daily-${i}.yaml`), `schedule: "${i % 60} 3 * * *"\ntask: { type: command, command: ["true"] }\n`);
  return {
    name: `jobsd (1 agent, ${jobs} jobs, default settings)`,
    periodic: {
      everyMinutes: MAINTENANCE_SECONDS / 60,
      async run(url) {
        const boss = createBoss(url, 'bench maintenance pass');
        boss.on('error', () => undefined);
        await boss.start();
        return async () => {
          await boss.supervise();
          await boss.stop({ graceful: false, close: true });
        };
      },
    },
    database: 'idle_jobsd',
    ready: /"jobsd started"/,
    start: (url) =>
      spawn(process.execPath, [...NODE_FLAGS, path.join(ROOT, 'bin/jobsd.js'), 'start', '--jobs-dir', dir, '--database-url', url, '--http', 'off', '--instance', 'idle'], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
  };
}

const peer = (name: string, script: string, database: string): Subject => ({
  name,
  database,
  ready: /ready/,
  start: (url) => spawn(process.execPath, [path.join(ROOT, 'bench/peers', script), url], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] }),
});

export const idleBenchmark: Benchmark = {
  name: 'idle',
  title: 'Idle cost: SQL statements and CPU per minute of an idle process',
  async run({ quick }) {
    // Every process is measured the same way: after two minutes, V8 has compiled what the idle loop runs and
    // the first major collections of the start-up garbage are done (jobsd: 70–150 ms in each of its first
    // minutes, 40–50 ms from the fifth on, graphile-worker 60–90 throughout); then over three minutes.
    const windowMs = quick ? 30_000 : 180_000;
    const warmupMs = quick ? 10_000 : 120_000;
    const results = await measureIdle(
      [jobsdSubject(10), peer('pg-boss 12 (`schedule()` + `work()`, defaults)', 'pgboss-idle.ts', 'idle_pgboss'), peer('graphile-worker 0.18 (crontab, defaults)', 'graphile-idle.ts', 'idle_graphile')],
      windowMs,
      warmupMs,
    );
    const lines = [
      `Each process alone on its own database of one embedded PostgreSQL (pg_stat_statements, every statement counted),`,
      `measured over ${windowMs / 1000} s after a warm-up of ${warmupMs / 1000} s; CPU is the process's user + system time. Target for jobsd: no more than`,
      'graphile-worker (≤ 33 statements and ≤ 25 ms CPU per minute).',
      '',
      `jobsd's figure includes its pg-boss maintenance pass (retention, queue statistics), which runs every ${MAINTENANCE_SECONDS / 60} min: one pass`,
      `was run and counted separately, ${results[0]!.periodicPerMinute?.toFixed(1)} statements per minute once spread over its period.`,
      '',
      '| process | SQL statements / min | CPU ms / min |',
      '| --- | ---: | ---: |',
      ...results.map((r) => `| ${r.name} | ${Math.round(r.statementsPerMinute)} | ${Math.round(r.cpuMsPerMinute)} |`),
      '',
      'The statements jobsd runs while idle (per minute):',
      '',
      '| calls / min | statement |',
      '| ---: | --- |',
      ...results[0]!.top.map((t) => `| ${t.calls.toFixed(1)} | \`${t.query.replace(/\|/g, '\\|')}\` |`),
    ];
    return lines.join('\n');
  },
};

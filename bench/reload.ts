// Reload and scale: with 10, 10,000 and 100,000 files in jobs.d, one agent on an external database: the
// cold start (spawn → every job scheduled), the resident memory, the time from a job file write (temp file
// + rename) to the changed schedule being live, and, while idle, the CPU and the SQL statements per minute
// (pg_stat_statements, the agent's database only).
//
// JOBSD_BENCH_NODE_FLAGS (space-separated) adds node flags to the agent, to profile it:
//   JOBSD_BENCH_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" npm run bench -- reload --quick
// (the agent is stopped with SIGTERM, so that the profile is written); JOBSD_BENCH_RELOAD_SIZES=100000
// measures those sizes only (comma-separated).
import { NODE_FLAGS } from '../src/cli/node-flags.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { cpuMs } from './idle.ts';
import { startBenchPostgres } from './postgres.ts';
import type { Benchmark } from './run.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

/** VmRSS (now) and VmHWM (the peak so far) of a process, in MB. */
function memoryMb(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1]);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

interface Agent {
  child: ChildProcess;
  changed: Map<string, number[]>;
  startedMs: Promise<number>;
}

function startAgent(dir: string, url: string, name: string): Agent {
  const extra = (process.env.JOBSD_BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...NODE_FLAGS, ...extra, path.join(ROOT, 'bin/jobsd.js'), 'start', '--jobs-dir', dir, '--database-url', url, '--http', 'off', '--instance', name], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const changed = new Map<string, number[]>();
  let buffer = '';
  let started!: (ms: number) => void;
  let failed!: (error: Error) => void;
  const startedMs = new Promise<number>((resolve, reject) => ((started = resolve), (failed = reject)));
  child.on('exit', (code) => failed(new Error(`the agent exited with ${code} before it started`)));
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) {
      if (line.includes('"job changed"')) {
        const l = JSON.parse(line) as { job: string; time: string };
        changed.set(l.job, [...(changed.get(l.job) ?? []), Date.parse(l.time)]);
      } else if (line.includes('"jobsd started"')) started(Date.parse((JSON.parse(line) as { time: string }).time));
    }
  });
  return { child, changed, startedMs };
}

/** SIGTERM (a profiled agent writes its profile on exit), SIGKILL if it has not exited within 20 s. */
async function stopAgent(agent: Agent): Promise<void> {
  if (agent.child.exitCode !== null) return;
  const exited = new Promise((resolve) => agent.child.once('exit', resolve));
  agent.child.kill('SIGTERM');
  const timer = setTimeout(() => agent.child.kill('SIGKILL'), 20_000);
  await exited;
  clearTimeout(timer);
}

const jobText = (minute: number) => `schedule: "${minute} 3 * * *"\ntask: { type: command, command: ["true"] }\n`;

async function reloadLatencies(dir: string, agent: Agent, edits: number): Promise<number[]> {
  const file = path.join(dir, 'job-0.yaml');
  const latencies: number[] = [];
  for (let i = 0; i < edits; i++) {
    const before = agent.changed.get('job-0')?.length ?? 0;
    const tmp = path.join(dir, '.job-0.yaml.tmp');
    writeFileSync(tmp, jobText((i % 59) + 1));
    const at = Date.now();
    renameSync(tmp, file);
    const deadline = at + 10_000;
    while ((agent.changed.get('job-0')?.length ?? 0) === before && Date.now() < deadline) await sleep(2);
    const seen = agent.changed.get('job-0')?.[before];
    latencies.push(seen === undefined ? NaN : seen - at);
    await sleep(20);
  }
  return latencies;
}

interface Row {
  size: number;
  coldStartS: number;
  rssMb: number;
  afterEditsMb: number;
  peakMb: number;
  latencies: number[];
  idleCpuMsPerMin: number;
  sqlPerMin: number;
}

const count = (n: number) => n.toLocaleString('en-US');

export const reloadBenchmark: Benchmark = {
  name: 'reload',
  title: 'Reload and scale: cold start, memory, file write to live schedule, idle CPU and SQL with many files',
  async run({ quick }) {
    const edits = quick ? 40 : 200;
    const sizes = process.env.JOBSD_BENCH_RELOAD_SIZES?.split(',').map(Number) ?? (quick ? [10, 2_000, 20_000] : [10, 10_000, 100_000]);
    const idleMs = quick ? 20_000 : 60_000;
    const db = await startBenchPostgres('reload', ['-c', 'shared_preload_libraries=pg_stat_statements', '-c', 'pg_stat_statements.track=all']);
    await db.admin.query('CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const rows: Row[] = [];
    try {
      for (const [index, size] of sizes.entries()) {
        const dir = mkdtempSync(path.join(tmpdir(), `jobsd-bench-jobs-${size}-`));
        for (let i = 0; i < size; i++) writeFileSync(path.join(dir, `job-${i}.yaml`), jobText(i % 60));
        const database = `reload_${index}`;
        const url = await db.database(database);
        const spawnedAt = Date.now();
        const agent = startAgent(dir, url, `reload-${index}`);
        try {
          const startedAt = await agent.startedMs;
          await sleep(2_000);
          const memory = memoryMb(agent.child.pid!); // after start, before the edits
          const latencies = (await reloadLatencies(dir, agent, edits)).sort((a, b) => a - b);
          await sleep(2_000); // the last edit's writes are done
          const afterEdits = memoryMb(agent.child.pid!);
          await db.admin.query('SELECT pg_stat_statements_reset()');
          const cpu0 = cpuMs(agent.child.pid!);
          await sleep(idleMs);
          const cpu = ((cpuMs(agent.child.pid!) - cpu0) * 60_000) / idleMs;
          const { rows: calls } = await db.admin.query<{ calls: string | null }>(
            'SELECT sum(s.calls) AS calls FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = $1',
            [database],
          );
          rows.push({
            size,
            coldStartS: (startedAt - spawnedAt) / 1000,
            rssMb: memory.rss,
            afterEditsMb: afterEdits.rss,
            peakMb: memoryMb(agent.child.pid!).peak,
            latencies,
            idleCpuMsPerMin: cpu,
            sqlPerMin: (Number(calls[0]?.calls ?? 0) * 60_000) / idleMs,
          });
        } finally {
          await stopAgent(agent);
          rmSync(dir, { recursive: true, force: true });
        }
      }
    } finally {
      await db.stop();
    }
    return [
      `One agent on an external database, jobs.d holding that many job files (each a daily cron). Cold start: from the`,
      'spawn to the agent logging `jobsd started` (every job loaded, caught up and scheduled, the catalog reported, the watch',
      'ready). RSS 2 s after the start, after the edits, and its peak over the whole run (VmHWM). Then',
      `${edits} edits of one job file (a new schedule written to a temp file, then renamed over the file), each timed from the`,
      'rename to the agent logging the changed job (its new schedule armed). Then, idle, the CPU and the SQL statements',
      `(pg_stat_statements, this agent's database) over ${idleMs / 1000} s, per minute (pg-boss's maintenance pass every 10 min`,
      'not included: its cost does not depend on the number of jobs, see the idle section).',
      '',
      '| files in jobs.d | cold start | RSS after start / after edits / peak | reload p50 | p99 | max | not seen within 10 s | idle CPU | idle SQL |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows.map((r) => {
        const valid = r.latencies.filter((l) => !Number.isNaN(l));
        return `| ${count(r.size)} | ${r.coldStartS.toFixed(2)} s | ${Math.round(r.rssMb)} / ${Math.round(r.afterEditsMb)} / ${Math.round(r.peakMb)} MB | ${percentile(valid, 0.5)} ms | ${percentile(valid, 0.99)} ms | ${valid.at(-1)} ms | ${r.latencies.length - valid.length} | ${Math.round(r.idleCpuMsPerMin)} ms / min | ${Math.round(r.sqlPerMin)} / min |`;
      }),
      '',
      'Targets with 100,000 files: cold start ≤ 20 s, RSS ≤ 1 GB, reload p99 ≤ 250 ms, idle CPU ≤ 2 s a minute; with 10,000:',
      'cold start ≤ 3 s, RSS ≤ 250 MB. No peer reloads without a restart: cron re-reads its crontab once a minute, a',
      'Kubernetes CronJob edit is applied by the controller on its next sync, pg-boss and graphile-worker take their',
      'schedules from code.',
    ].join('\n');
  },
};

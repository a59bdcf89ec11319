// Precision: two jobsd agents on one database and one jobs.d, N jobs firing every second: lateness (run start
// minus fire time), duplicates, misses. The agents' stdout goes to a file, read as it grows (as a container
// runtime or the journal would take it), or, for one row, to a pipe that a slow reader drains. In the same
// run: the floors (a Node timer heap in one process firing the same GETs; a shell starting the same number
// of `date` at once), and, on the same PostgreSQL, two processes each of pg-boss's schedule() (most
// aggressive settings) and of graphile-worker's crontab, N jobs every minute, measured over several minutes,
// lateness from the minute boundary.
import { NODE_FLAGS } from '../src/cli/node-flags.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeSync, mkdirSync, mkdtempSync, openSync, readSync, rmSync, writeFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startBenchPostgres } from './postgres.ts';
import type { Benchmark } from './run.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
/** The agent under test (JOBSD_BENCH_AGENT_ROOT compares another checkout). */
const AGENT_ROOT = process.env.JOBSD_BENCH_AGENT_ROOT ?? ROOT;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

interface Start {
  job: string;
  /** The nominal instant the run belongs to (second for jobsd, minute for the peers). */
  slotMs: number;
  startedMs: number;
}

function collect(child: ChildProcess, onLine: (line: string) => void): void {
  let buffer = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    buffer += chunk.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) onLine(line);
  });
}

async function ready(child: ChildProcess, marker: string, lines: string[]): Promise<void> {
  for (let waited = 0; !lines.some((l) => l.includes(marker)); waited += 100) {
    if (child.exitCode !== null || waited > 60_000) throw new Error(`a benchmark process did not start (${marker})`);
    await sleep(100);
  }
}

interface Summary {
  expected: number;
  runs: number;
  duplicates: number;
  missed: number;
  p50: number;
  p99: number;
  p999: number;
  max: number;
}

function summarise(starts: Start[], jobs: number, slots: number[]): Summary {
  const inWindow = starts.filter((s) => slots.includes(s.slotMs));
  const perSlot = new Map<string, number>();
  for (const s of inWindow) perSlot.set(`${s.job}@${s.slotMs}`, (perSlot.get(`${s.job}@${s.slotMs}`) ?? 0) + 1);
  const lateness = inWindow.map((s) => s.startedMs - s.slotMs).sort((a, b) => a - b);
  const expected = jobs * slots.length;
  return {
    expected,
    runs: inWindow.length,
    duplicates: [...perSlot.values()].reduce((n, c) => n + c - 1, 0),
    missed: expected - perSlot.size,
    p50: percentile(lateness, 0.5),
    p99: percentile(lateness, 0.99),
    p999: percentile(lateness, 0.999),
    max: lateness.at(-1) ?? NaN,
  };
}

/**
 * The task every job runs: a command that prints the time it started at (`date +%s%N`, read from the
 * agent's log of its output), or a GET to a local server (`http://127.0.0.1:PORT`).
 */
export type PrecisionTask = { type: 'command' } | { type: 'http'; target: string };

/** Where the agents' stdout goes: a file, or a pipe that a slow reader drains (SLOW_READ_BYTES every SLOW_READ_MS). */
export type LogSink = 'file' | 'slow-pipe';
const SLOW_READ_BYTES = 16 * 1024;
const SLOW_READ_MS = 50;

/** The complete lines an agent wrote since the last call. */
interface LineSource {
  take(): string[];
  bytes(): number;
  close(): void;
}

function splitter(): { push: (text: string) => void; take: () => string[] } {
  let rest = '';
  let lines: string[] = [];
  return {
    push(text) {
      const parts = (rest + text).split('\n');
      rest = parts.pop() ?? '';
      for (const p of parts) lines.push(p);
    },
    take() {
      const taken = lines;
      lines = [];
      return taken;
    },
  };
}

/** A log file read as it grows. */
function tailFile(file: string): LineSource {
  const fd = openSync(file, 'r');
  const lines = splitter();
  const chunk = Buffer.alloc(1 << 20);
  let position = 0;
  return {
    take() {
      for (let n; (n = readSync(fd, chunk, 0, chunk.length, position)) > 0; position += n) lines.push(chunk.toString('utf8', 0, n));
      return lines.take();
    },
    bytes: () => position,
    close: () => closeSync(fd),
  };
}

/** A reader that takes SLOW_READ_BYTES every SLOW_READ_MS of a pipe, and no more. */
function slowReader(stream: Readable): LineSource {
  const lines = splitter();
  let total = 0;
  stream.pause();
  const timer = setInterval(() => {
    if (stream.readableLength === 0) stream.read(0); // asks for more
    const chunk = stream.read(Math.min(SLOW_READ_BYTES, stream.readableLength)) as Buffer | null;
    if (chunk) {
      total += chunk.length;
      lines.push(chunk.toString());
    }
  }, SLOW_READ_MS);
  return { take: () => lines.take(), bytes: () => total, close: () => clearInterval(timer) };
}

export interface JobsdRun extends Summary {
  /** What the two agents wrote to their stdout per second of the measurement, on average. */
  logBytesPerSecond: number;
}

export async function measureJobsd(url: string, jobs: number, seconds: number, task: PrecisionTask = { type: 'command' }, extraArgs: string[] = [], overlap = 'allow', sink: LogSink = 'file'): Promise<JobsdRun> {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-bench-precision-'));
  // JOBSD_BENCH_KEEP_LOGS=DIR keeps the agents' logs there, for a look at what they did.
  const logs = process.env.JOBSD_BENCH_KEEP_LOGS ?? mkdtempSync(path.join(tmpdir(), 'jobsd-bench-precision-logs-'));
  mkdirSync(dir, { recursive: true });
  for (let i = 0; i < jobs; i++) {
    const spec = task.type === 'command' ? '{ type: command, command: ["date", "+%s%N"] }' : `{ type: http, url: "${task.target}/tick/${i}", timeout: 10s }`;
    writeFileSync(path.join(dir, `tick-${i}.yaml`), `schedule: every 1s\noverlap: ${overlap}\ntask: ${spec}\n`);
  }
  const starts: Start[] = [];
  let started = 0;
  let warnings = 0;
  const onLine = (name: string, line: string) => {
    // Warnings and errors (an enqueue that failed, a catch-up) explain a miss: the first ones are shown in the run's output.
    if (/^\{"level":(40|50|60)/.test(line) && warnings++ < 20) process.stderr.write(`  ${name}: ${line.slice(0, 400)}\n`);
    if (line.includes('"jobsd started"')) started++;
    else if (task.type === 'command' && line.includes('"stream":"stdout"')) {
      // The command's own clock, read once it runs: what the user's program sees.
      const l = JSON.parse(line) as { job: string; fire: string; msg: string };
      starts.push({ job: l.job, slotMs: Date.parse(l.fire), startedMs: Number(BigInt(l.msg) / 1000n) / 1000 });
    } else if (task.type === 'http' && line.includes('"run started"')) {
      const l = JSON.parse(line) as { job: string; fire: string; lateness_ms: number };
      const slotMs = Date.parse(l.fire);
      starts.push({ job: l.job, slotMs, startedMs: slotMs + l.lateness_ms });
    }
  };
  const agents = ['precision-a', 'precision-b'].map((name) => {
    const args = [...NODE_FLAGS, path.join(AGENT_ROOT, 'bin/jobsd.js'), 'start', '--jobs-dir', dir, '--database-url', url, '--instance', name, '--http', 'off', ...extraArgs];
    if (sink === 'slow-pipe') {
      const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      return { name, child, source: slowReader(child.stdout!) };
    }
    const file = path.join(logs, `${name}.log`);
    const fd = openSync(file, 'w');
    const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', fd, 'inherit'] });
    closeSync(fd);
    return { name, child, source: tailFile(file) };
  });
  const readLogs = () => {
    for (const a of agents) for (const line of a.source.take()) onLine(a.name, line);
  };
  try {
    for (let waited = 0; started < agents.length; waited += 100) {
      if (agents.some((a) => a.child.exitCode !== null) || waited > 60_000) throw new Error('a jobsd agent did not start');
      await sleep(100);
      readLogs();
    }
    const from = Math.ceil(Date.now() / 1000) + 3;
    const slots = Array.from({ length: seconds }, (_, i) => (from + i) * 1000);
    const bytesBefore = agents.reduce((n, a) => n + a.source.bytes(), 0);
    // Runs that start late still count: wait until every fire of the window started, or 60 s past it.
    const expected = jobs * seconds;
    let bytesAfter = NaN;
    while (Date.now() < (from + seconds + 3) * 1000 || (starts.filter((st) => st.slotMs >= slots[0]! && st.slotMs <= slots.at(-1)!).length < expected && Date.now() < (from + seconds + 60) * 1000)) {
      await sleep(250);
      readLogs();
      if (Number.isNaN(bytesAfter) && Date.now() >= (from + seconds) * 1000) bytesAfter = agents.reduce((n, a) => n + a.source.bytes(), 0);
    }
    return { ...summarise(starts, jobs, slots), logBytesPerSecond: (bytesAfter - bytesBefore) / seconds };
  } finally {
    // SIGTERM first: an agent started with --cpu-prof (NODE_OPTIONS) writes its profile on the way out.
    await Promise.all(agents.map(async (a) => {
      if (a.child.exitCode === null && a.child.signalCode === null) {
        a.child.kill('SIGTERM');
        const killer = setTimeout(() => a.child.kill('SIGKILL'), 10_000);
        await once(a.child, 'exit');
        clearTimeout(killer);
      }
      a.source.close();
    }));
    rmSync(dir, { recursive: true, force: true });
    if (!process.env.JOBSD_BENCH_KEEP_LOGS) rmSync(logs, { recursive: true, force: true });
  }
}

/**
 * The in-process floor for the http rows (bench/peers/timer-floor.ts): `jobs` GETs every second, the same
 * as jobsd's http rows, no database; from a timer per job (a Node timer heap), or from one timer per
 * instant releasing them all (`per-instant`, as jobsd's start gate does). In one process, or split over
 * `processes` as the jobs are over the agents.
 */
export type FloorTimers = 'per-job' | 'per-instant';
export async function measureTimerFloor(target: string, jobs: number, seconds: number, processes = 1, timers: FloorTimers = 'per-job'): Promise<Summary> {
  const from = Math.ceil(Date.now() / 1000) + 4; // after the floor's two seconds of warm-up
  const each = Math.ceil(jobs / processes);
  const starts = await Promise.all(
    Array.from({ length: processes }, async (_, p) => {
      const args = [path.join(ROOT, 'bench/peers/timer-floor.ts'), target, String(Math.min(each, jobs - p * each)), String(from * 1000), String(seconds), String(p * each), timers];
      const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
      const [code] = (await once(child, 'exit')) as [number | null];
      if (code !== 0) throw new Error(`the timer floor exited with ${code}`);
      return JSON.parse(out.split('\n').find((l) => l.startsWith('['))!) as Start[];
    }),
  );
  return summarise(starts.flat(), jobs, Array.from({ length: seconds }, (_, i) => (from + i) * 1000));
}

/**
 * The machine's floor for the command rows: at each second, a shell spawned ahead (released by a timer,
 * no scheduler or database in the way) starts `processes` × `date +%s%N` at once, as cron does at its
 * minute. Lateness by each process's own clock, as for jobsd's commands.
 */
export async function measureFloor(processes: number, seconds: number): Promise<Summary> {
  const starts: Start[] = [];
  const from = Math.ceil(Date.now() / 1000) + 1;
  const slots = Array.from({ length: seconds }, (_, i) => (from + i) * 1000);
  const list = Array.from({ length: processes }, (_, i) => i).join(' ');
  for (const slotMs of slots) {
    await sleep(Math.max(0, slotMs - 300 - Date.now())); // a slot still starting when the next is due falls behind, as it would
    const shell = spawn('/bin/sh', ['-c', `read -r _ <&3; for i in ${list}; do date "+p$i %s%N" & done; wait`], { stdio: ['ignore', 'pipe', 'inherit', 'pipe'] });
    collect(shell, (line) => {
      const [job, ns] = line.split(' ');
      if (job && ns) starts.push({ job, slotMs, startedMs: Number(BigInt(ns) / 1000n) / 1000 });
    });
    const exited = new Promise((resolve) => shell.once('exit', resolve));
    await sleep(Math.max(0, slotMs - Date.now()));
    (shell.stdio[3] as NodeJS.WritableStream).end('\n');
    await exited;
  }
  return summarise(starts, processes, slots);
}

async function measurePeer(script: string, url: string, jobs: number, minutes: number): Promise<Summary> {
  const starts: Start[] = [];
  const lines: string[] = [];
  const children = [0, 1].map(() => {
    const child = spawn(process.execPath, [path.join(ROOT, 'bench/peers', script), url, String(jobs)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    collect(child, (line) => {
      if (line === 'ready') lines.push(line);
      else if (line.startsWith('{')) {
        const l = JSON.parse(line) as { job: string; startedMs: number };
        starts.push({ job: l.job, slotMs: Math.floor(l.startedMs / 60_000) * 60_000, startedMs: l.startedMs });
      }
    });
    return child;
  });
  try {
    for (const c of children) await ready(c, 'ready', lines);
    await sleep(1_000);
    const first = Math.ceil(Date.now() / 60_000) * 60_000 + 60_000; // skip the first boundary: schedules settle
    const slots = Array.from({ length: minutes }, (_, i) => first + i * 60_000);
    while (Date.now() < slots.at(-1)! + 55_000) await sleep(500);
    return summarise(starts, jobs, slots);
  } finally {
    for (const c of children) c.kill('SIGKILL');
  }
}

/** Runs at once per queue on each agent: 200 runs due at one instant on 2 agents need 100 each (the default is 32 on 2 cores). */
const CONCURRENCY = ['--concurrency', '128'];

export const precisionBenchmark: Benchmark = {
  name: 'precision',
  title: 'Precision: lateness, duplicates and misses, next to pg-boss and graphile-worker',
  async run({ quick }) {
    const jobs = quick ? 50 : 200;
    const seconds = quick ? 15 : 60;
    const minutes = quick ? 1 : 3;
    const server = createServer((_req, res) => res.end('ok'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const http: PrecisionTask = { type: 'http', target: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
    const db = await startBenchPostgres('precision');
    try {
      // A light load too: where the agents keep up, lateness is the scheduler's own.
      const light = quick ? 10 : 20;
      const command: PrecisionTask = { type: 'command' };
      const jobsd = async (label: string, count: number, task: PrecisionTask, args: string[] = [], overlap = 'allow', sink: LogSink = 'file') => {
        process.stderr.write(`  ${label}: every second for ${seconds} s\n`);
        const summary = await measureJobsd(await db.database('precision_jobsd'), count, seconds, task, args, overlap, sink);
        process.stderr.write(`    p50 ${ms(summary.p50)}, p99 ${ms(summary.p99)}, p99.9 ${ms(summary.p999)}, missed ${summary.missed}; log ${Math.round(summary.logBytesPerSecond / 1024)} KiB/s\n`);
        return summary;
      };
      const lightDate = await jobsd(`jobsd, ${light} jobs, \`date\` command`, light, command);
      const lightHttp = await jobsd(`jobsd, ${light} jobs, http GET`, light, http);
      const lightSkip = await jobsd(`jobsd, ${light} jobs, http GET, \`overlap: skip\` (the default)`, light, http, [], 'skip');
      const fullHttp = await jobsd(`jobsd, ${jobs} jobs, http GET, \`--concurrency 128\``, jobs, http, CONCURRENCY);
      process.stderr.write(`  the in-process floor: one timer a second releasing ${jobs} http GETs in one Node process, for ${seconds} s\n`);
      const timerFloor = await measureTimerFloor(http.target, jobs, seconds, 1, 'per-instant');
      process.stderr.write(`  the in-process floor, split as the agents are: one timer a second releasing ${jobs / 2} GETs in each of two Node processes, for ${seconds} s\n`);
      const timerFloor2 = await measureTimerFloor(http.target, jobs, seconds, 2, 'per-instant');
      process.stderr.write(`  a timer heap: ${jobs} timers (one per job) in one Node process, http GET, every second for ${seconds} s\n`);
      const timerHeap = await measureTimerFloor(http.target, jobs, seconds);
      const fullDate = await jobsd(`jobsd, ${jobs} jobs, \`date\` command, \`--concurrency 128\``, jobs, command, CONCURRENCY);
      const slowDate = await jobsd(`jobsd, ${jobs} jobs, \`date\` command, \`--concurrency 128\`, stdout on a pipe a slow reader drains`, jobs, command, CONCURRENCY, 'allow', 'slow-pipe');
      const floors: Array<[number, Summary]> = [];
      for (const count of [light, jobs]) {
        process.stderr.write(`  the machine's floor: ${count} processes at once, every second for ${seconds} s\n`);
        floors.push([count, await measureFloor(count, seconds)]);
      }
      process.stderr.write(`  pg-boss and graphile-worker: ${jobs} jobs every minute for ${minutes} min\n`);
      const [boss, graphile] = await Promise.all([
        measurePeer('pgboss-cron.ts', await db.database('precision_pgboss'), jobs, minutes),
        measurePeer('graphile-cron.ts', await db.database('precision_graphile'), jobs, minutes),
      ]);
      const row = (name: string, s: Summary) =>
        `| ${name} | ${s.expected} | ${s.runs} | ${s.duplicates} | ${s.missed} | ${ms(s.p50)} | ${ms(s.p99)} | ${ms(s.p999)} | ${ms(s.max)} |`;
      const shellFloor = floors.at(-1)![1];
      const ratio = (a: number, b: number) => `${(a / b).toFixed(1)}×`;
      return [
        `${jobs} jobs on each system (and a light load of ${light} jobs for jobsd), two processes each, one embedded PostgreSQL (a database per system).`,
        `jobsd: every second for ${seconds} s, \`overlap: allow\` unless the row says otherwise (fires queued ahead, claimed 100 ms ahead and started at their time:`,
        'see README, "Fires queued ahead"), lateness = when the run started minus the nominal fire time: for a command, the time',
        'the command itself read (`date +%s%N`, its output line in the agent\'s log; its process is spawned ahead and started at its time, see README,',
        '"Commands spawned ahead"), for a GET to a local HTTP server, the run started (`run started`). 200 runs due at one instant',
        'on two agents need `--concurrency` of at least 100. Each agent\'s stdout is written to a file, read as it grows, except',
        `in the row that says so: there it is a pipe that a slow reader drains, ${SLOW_READ_BYTES / 1024} KiB every ${SLOW_READ_MS} ms (${Math.round((SLOW_READ_BYTES / SLOW_READ_MS) * 1000 / 1024)} KiB/s, against the`,
        `${Math.round(slowDate.logBytesPerSecond / 1024)} KiB/s the two agents wrote on average, in a burst each second).`,
        'The floors are what the machine allows, measured in the same run. For the http rows, the in-process floor: one Node',
        'process (no database, no exclusion, no queue) with one timer a second that issues the same GETs through an undici pool',
        'in one callback, as jobsd\'s start gate releases the runs due at one instant; lateness taken right before each request,',
        'as jobsd\'s `run started` is (`bench/peers/timer-floor.ts`). The timer heap row is the same process with one timer per',
        'job re-armed each second (what a scheduler built on Node\'s timers does; it was this table\'s floor until 2026-12-04).',
        'For the command rows: a shell, spawned ahead and released by a timer, starting the same number of `date` processes at once.',
        `The peers are minute-grained: ${jobs} \`* * * * *\` schedules for ${minutes} minutes, lateness = the handler`,
        'starting minus the minute boundary. pg-boss with `cronWorkerIntervalSeconds: 1`, `cronMonitorIntervalSeconds: 1` and',
        `workers polling every 0.5 s; graphile-worker on its defaults. Targets for jobsd: ${jobs} http GETs a second with p99 ≤ 5 ms, ${jobs} commands`,
        'a second with no backlog and p99 within 2× the shell floor (on the slow pipe too), 0 duplicates, 0 misses.',
        '',
        '| system | runs expected | runs | duplicates | not run (60 s after the window) | lateness p50 | p99 | p99.9 | max |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
        row(`jobsd, ${light} jobs, \`date\` command (1 s)`, lightDate),
        row(`jobsd, ${light} jobs, http GET (1 s)`, lightHttp),
        row(`jobsd, ${light} jobs, http GET, \`overlap: skip\` (the default) (1 s)`, lightSkip),
        row(`jobsd, ${jobs} jobs, http GET, \`--concurrency 128\` (1 s)`, fullHttp),
        row(`the in-process floor: one timer a second releasing the same ${jobs} GETs, one Node process (no database)`, timerFloor),
        row(`the in-process floor split as the agents are: ${jobs / 2} GETs a second from each of two Node processes`, timerFloor2),
        row(`a timer heap: ${jobs} timers, one per job, re-armed each second, one Node process (no database)`, timerHeap),
        row(`jobsd, ${jobs} jobs, \`date\` command, \`--concurrency 128\` (1 s)`, fullDate),
        row(`jobsd, ${jobs} jobs, \`date\` command, \`--concurrency 128\`, stdout on a pipe a slow reader drains (1 s)`, slowDate),
        ...floors.map(([count, floor]) => row(`the machine's floor: a shell starting ${count} \`date\` processes at once, every second (no scheduler)`, floor)),
        row('pg-boss 12 `schedule()` (1 min)', boss),
        row('graphile-worker 0.18 crontab (1 min)', graphile),
        '',
        `Ratios in this run: ${jobs} http GETs, jobsd's p99 ${ratio(fullHttp.p99, timerFloor.p99)} the in-process floor's (p99.9 ${ratio(fullHttp.p999, timerFloor.p999)}),`,
        `${ratio(fullHttp.p99, timerFloor2.p99)} the floor's split over two processes (p99.9 ${ratio(fullHttp.p999, timerFloor2.p999)}), ${ratio(fullHttp.p99, timerHeap.p99)} the timer heap's;`,
        `${jobs} commands, jobsd's p99 ${ratio(fullDate.p99, shellFloor.p99)} the shell floor's, ${ratio(slowDate.p99, shellFloor.p99)} with stdout on the slow pipe.`,
      ].join('\n');
    } finally {
      await db.stop();
      server.close();
    }
  },
};

/** Whole milliseconds, with one decimal under 10 ms. */
function ms(value: number): string {
  return `${value < 10 ? value.toFixed(1) : Math.round(value)} ms`;
}

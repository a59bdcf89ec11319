// Reload and scale: time from a job file write (temp file + rename) to the changed schedule being live, with
// 10 and with 10,000 files in jobs.d; and with 10,000 files, the cold start to every job scheduled, the
// resident memory, and the CPU used per idle minute.
import { NODE_FLAGS } from '../src/cli/node-flags.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { cpuMs } from './idle.ts';
import type { Benchmark } from './run.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

function rssMb(pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
  return kb / 1024;
}

interface Agent {
  child: ChildProcess;
  changed: Map<string, number[]>;
  startedMs: Promise<number>;
}

function startAgent(dir: string, url: string, name: string): Agent {
  const child = spawn(process.execPath, [...NODE_FLAGS, path.join(ROOT, 'bin/jobsd.js'), 'start', '--jobs-dir', dir, '--database-url', url, '--http', 'off', '--instance', name], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const changed = new Map<string, number[]>();
  let buffer = '';
  let started!: (ms: number) => void;
  const startedMs = new Promise<number>((resolve) => (started = resolve));
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

export const reloadBenchmark: Benchmark = {
  name: 'reload',
  title: 'Reload and scale: file write to live schedule, cold start, memory and idle CPU with many files',
  async run({ quick }) {
    const edits = quick ? 40 : 200;
    const sizes = quick ? [10, 2_000] : [10, 10_000];
    const base = mkdtempSync(path.join(tmpdir(), 'jobsd-bench-reload-'));
    const db = await startEmbeddedPostgres(base, { info: () => undefined, warn: () => undefined });
    const rows: string[] = [];
    let scale = '';
    try {
      for (const [index, size] of sizes.entries()) {
        const dir = mkdtempSync(path.join(tmpdir(), `jobsd-bench-jobs-${size}-`));
        for (let i = 0; i < size; i++) writeFileSync(path.join(dir, `job-${i}.yaml`), jobText(i % 60));
        const url = new URL(db.url);
        const spawnedAt = Date.now();
        const agent = startAgent(dir, url.toString(), `reload-${index}`);
        const startedAt = await agent.startedMs;
        await sleep(2_000);
        const rss = rssMb(agent.child.pid!); // after start, before the edits
        const latencies = (await reloadLatencies(dir, agent, edits)).sort((a, b) => a - b);
        const missing = latencies.filter((l) => Number.isNaN(l)).length;
        const valid = latencies.filter((l) => !Number.isNaN(l));
        rows.push(`| ${size.toLocaleString('en-US')} | ${edits} | ${percentile(valid, 0.5)} ms | ${percentile(valid, 0.99)} ms | ${valid.at(-1)} ms | ${missing} |`);
        if (size === sizes.at(-1)) {
          const idleMs = quick ? 20_000 : 60_000;
          const cpu0 = cpuMs(agent.child.pid!);
          await sleep(idleMs);
          const cpu = ((cpuMs(agent.child.pid!) - cpu0) * 60_000) / idleMs;
          scale = [
            `With ${size.toLocaleString('en-US')} job files (each a daily cron), one agent on an external database:`,
            '',
            '| cold start: spawn → every job scheduled | RSS 2 s after start | CPU while idle (after the edits) |',
            '| ---: | ---: | ---: |',
            `| ${((startedAt - spawnedAt) / 1000).toFixed(2)} s | ${Math.round(rss)} MB | ${Math.round(cpu)} ms / min |`,
            '',
            'Targets: cold start ≤ 3 s and RSS ≤ 250 MB with 10,000 files.',
          ].join('\n');
        }
        agent.child.kill('SIGKILL');
        rmSync(dir, { recursive: true, force: true });
      }
    } finally {
      await db.stop();
      rmSync(base, { recursive: true, force: true });
    }
    return [
      `${edits} edits of one job file (a new schedule written to a temp file, then renamed over the file), each timed from the`,
      'rename to the agent logging the changed job (its new schedule armed). Target: p99 ≤ 250 ms with 10,000 files. No peer',
      'reloads without a restart: cron re-reads its crontab once a minute, a Kubernetes CronJob edit is applied by the controller',
      'on its next sync, pg-boss and graphile-worker take their schedules from code.',
      '',
      '| files in jobs.d | edits | p50 | p99 | max | not seen within 10 s |',
      '| ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
      scale,
    ].join('\n');
  },
};

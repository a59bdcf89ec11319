// Two agents on one database and one jobs.d, N jobs firing every second: fire lateness (command
// start minus fire time), duplicates and misses from the ledger and the agents' logs.

import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import type { Benchmark } from './run.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;
}

export const agentBenchmark: Benchmark = {
  name: 'agent',
  title: 'Two agents: lateness, duplicates, misses',
  async run({ quick }) {
    const jobs = quick ? 20 : 100;
    const seconds = quick ? 8 : 20;
    const base = mkdtempSync(path.join(tmpdir(), 'jobsd-bench-agent-'));
    const db = await startEmbeddedPostgres(base, { info: () => undefined, warn: () => undefined });
    const dir = path.join(base, 'jobs.d');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    for (let i = 0; i < jobs; i++) {
      writeFileSync(path.join(dir, `tick-${i}.yaml`), 'schedule: every 1s\noverlap: allow\ntask: { type: command, command: ["true"] }\n');
    }
    const logs: Record<string, unknown>[] = [];
    const agents = ['bench-a', 'bench-b'].map((name) => {
      const child = spawn(process.execPath, [path.join(ROOT, 'bin/jobsd.js'), 'start', '--jobs-dir', dir, '--database-url', db.url, '--instance', name, '--http', 'off'], {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let buffer = '';
      child.stdout.on('data', (chunk: Buffer) => {
        buffer += chunk.toString();
        const lines = buffer.split('\n');
        buffer = lines.pop() ?? '';
        for (const line of lines) if (line.includes('"run started"') || line.includes('jobsd started')) logs.push(JSON.parse(line) as Record<string, unknown>);
      });
      return child;
    });
    while (logs.filter((l) => l.msg === 'jobsd started').length < 2) await sleep(100);
    const from = Math.ceil(Date.now() / 1000) + 2;
    const to = from + seconds - 1;
    while (Date.now() < (to + 3) * 1000) await sleep(250);
    for (const a of agents) a.kill('SIGTERM');
    await Promise.all(agents.map((a) => new Promise((resolve) => a.on('exit', resolve))));
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    const rows = (
      await client.query<{ job_id: string; t: number; state: string }>(
        'SELECT job_id, EXTRACT(EPOCH FROM fire_time)::float AS t, state FROM jobsd.fires WHERE fire_time BETWEEN to_timestamp($1) AND to_timestamp($2)',
        [from, to],
      )
    ).rows;
    await client.end();
    await db.stop();
    rmSync(base, { recursive: true, force: true });

    const expected = jobs * seconds;
    const inWindow = logs.filter((l) => l.msg === 'run started' && Date.parse(String(l.fire)) / 1000 >= from && Date.parse(String(l.fire)) / 1000 <= to);
    const runsPerFire = new Map<string, number>();
    for (const l of inWindow) runsPerFire.set(`${l.job}@${l.fire}`, (runsPerFire.get(`${l.job}@${l.fire}`) ?? 0) + 1);
    const duplicates = [...runsPerFire.values()].reduce((n, c) => n + (c - 1), 0);
    const lateness = inWindow.map((l) => Number(l.lateness_ms)).sort((a, b) => a - b);
    const missed = expected - runsPerFire.size;
    return [
      `${jobs} jobs firing every second for ${seconds} s on two agents sharing one embedded PostgreSQL and one jobs.d`,
      '(overlap: allow, a `true` command). Lateness is the worker starting the run minus the nominal fire time.',
      '',
      '| fires expected | ledger rows | runs | duplicates | missed | lateness p50 | p99 | max |',
      '| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      `| ${expected} | ${rows.length} | ${inWindow.length} | ${duplicates} | ${missed} | ${percentile(lateness, 0.5)} ms | ${percentile(lateness, 0.99)} ms | ${lateness.at(-1)} ms |`,
      '',
      'The peers (pg-boss `schedule()`, graphile-worker crontab) are measured in the precision benchmark of issue 8.',
    ].join('\n');
  },
};

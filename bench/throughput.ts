// Throughput: fires per second the agents enqueue and run end to end, with a trivial `http` task against a
// local server, with 1 and with 2 agents on one database and one jobs.d.
import { NODE_FLAGS } from '../src/cli/node-flags.ts';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { startBenchPostgres } from './postgres.ts';
import type { Benchmark } from './run.ts';

const ROOT = path.resolve(import.meta.dirname, '..');

async function waitStarted(child: ChildProcess): Promise<void> {
  let seen = '';
  await new Promise<void>((resolve, reject) => {
    const onData = (d: Buffer) => {
      seen += d.toString();
      if (seen.includes('"jobsd started"')) {
        child.stdout!.off('data', onData);
        child.stdout!.resume();
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.on('exit', (code) => reject(new Error(`agent exited with ${code}`)));
  });
}

export async function measure(url: string, agents: number, jobs: number, seconds: number, target: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-bench-throughput-'));
  for (let i = 0; i < jobs; i++) {
    writeFileSync(path.join(dir, `hit-${i}.yaml`), `schedule: every 1s\noverlap: allow\ntask: { type: http, url: "${target}/hit/${i}", timeout: 10s }\n`);
  }
  const children = Array.from({ length: agents }, (_, i) =>
    spawn(process.execPath, [...NODE_FLAGS, path.join(ROOT, 'bin/jobsd.js'), 'start', '--jobs-dir', dir, '--database-url', url, '--instance', `throughput-${i}`, '--http', 'off'], {
      cwd: ROOT,
      env: { ...process.env, JOBSD_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'inherit'],
    }),
  );
  // warn level logs nothing at start: wait for the ledger instead.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    for (let waited = 0; ; waited += 250) {
      const { rows } = await client.query<{ n: string }>(`SELECT count(*) AS n FROM jobsd.instances`).catch(() => ({ rows: [{ n: '0' }] }));
      if (Number(rows[0]!.n) >= agents) break;
      if (waited > 60_000) throw new Error('agents did not register');
      await sleep(250);
    }
    const from = Math.ceil(Date.now() / 1000) + 5;
    const to = from + seconds;
    while (Date.now() < (to + 2) * 1000) await sleep(500);
    // Capacity: runs that finished in the window, whatever their fire time (a backlog still counts).
    const { rows } = await client.query<{ n: string; late: number | null }>(
      `SELECT count(*) AS n, percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM started_at - fire_time)) * 1000 AS late
         FROM jobsd.fires WHERE state = 'succeeded' AND finished_at >= to_timestamp($1) AND finished_at < to_timestamp($2)`,
      [from, to],
    );
    const succeeded = Number(rows[0]?.n ?? 0);
    return { offered: jobs, completedPerSecond: succeeded / seconds, kept: succeeded / (jobs * seconds), p99: rows[0]?.late ?? NaN };
  } finally {
    for (const c of children) c.kill('SIGKILL');
    await client.end();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const throughputBenchmark: Benchmark = {
  name: 'throughput',
  title: 'Throughput: fires per second run end to end (http task), 1 and 2 agents',
  async run({ quick }) {
    const jobs = quick ? 200 : 1000;
    const seconds = quick ? 10 : 30;
    let hits = 0;
    const server = createServer((_req, res) => {
      hits++;
      res.end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const target = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const db = await startBenchPostgres('throughput');
    const rows: string[] = [];
    try {
      for (const agents of [1, 2]) {
        process.stderr.write(`  ${agents} agent(s), ${jobs} jobs every second\n`);
        const r = await measure(await db.database(`throughput_${agents}`), agents, jobs, seconds, target);
        rows.push(`| ${agents} | ${r.offered} | ${r.completedPerSecond.toFixed(0)} | ${(r.kept * 100).toFixed(1)}% | ${Math.round(r.p99)} ms |`);
      }
    } finally {
      await db.stop();
      server.close();
    }
    return [
      `${jobs} jobs firing every second (\`overlap: allow\`, an \`http\` GET to a local server answering \`ok\`), for ${seconds} s; the`,
      'runs that finished successfully during the window are counted in the ledger (whatever their fire time: this is the',
      'capacity, backlog included), with the lateness of those runs. Target: ≥ 500 fires/s with 2 agents.',
      '',
      '| agents | fires offered / s | runs completed / s | of the offered | lateness p99 of those runs |',
      '| ---: | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
      `(${hits.toLocaleString('en-US')} requests reached the server over both runs.)`,
    ].join('\n');
  },
};

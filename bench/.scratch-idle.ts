// scratch: idle CPU timeline of one agent with N files, --trace-gc to a file
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { NODE_FLAGS } from '../src/cli/node-flags.ts';
import { cpuMs } from './idle.ts';
import { startBenchPostgres } from './postgres.ts';
const N = Number(process.env.N ?? 100000);
const db = await startBenchPostgres('scratch');
const url = await db.database('scratch');
const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-scratch-'));
for (let i = 0; i < N; i++) writeFileSync(path.join(dir, `job-${i}.yaml`), `schedule: "${i % 60} 3 * * *"\ntask: { type: command, command: ["true"] }\n`);
const out = openSync('/tmp/scale/scratch-agent.log', 'w');
const extra = (process.env.FLAGS ?? '').split(' ').filter(Boolean);
const child = spawn(process.execPath, [...NODE_FLAGS, ...extra, 'bin/jobsd.js', 'start', '--jobs-dir', dir, '--database-url', url, '--http', 'off', '--instance', 'scratch'], { stdio: ['ignore', out, 'inherit'] });
for (;;) { await sleep(200); if (readFileSync('/tmp/scale/scratch-agent.log', 'utf8').includes('"jobsd started"')) break; }
let last = cpuMs(child.pid!);
for (let i = 0; i < Number(process.env.STEPS ?? 14); i++) {
  await sleep(10_000);
  const now = cpuMs(child.pid!);
  console.log(`${(i + 1) * 10}s: +${now - last} ms cpu`);
  last = now;
}
child.kill('SIGTERM');
await new Promise((r) => child.once('exit', r));
await db.stop();
rmSync(dir, { recursive: true, force: true });

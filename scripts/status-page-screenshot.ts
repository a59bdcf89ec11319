// Regenerates docs/status-page.png, the README's screenshot of the status page: an agent on an embedded
// PostgreSQL and a few example jobs, all in temporary directories, and Debian's Chromium through
// playwright-core.
//   npm run screenshot        (JOBSD_CHROMIUM: another browser binary; default /usr/bin/chromium)

import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { freePort, startEmbeddedPostgres } from '../src/db/embedded.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'docs', 'status-page.png');
const JOBS: Record<string, string> = {
  'tick.yaml': 'description: Every second\nschedule: every 1s\ntask: { type: command, command: ["true"] }\n',
  'flaky.yaml': 'description: Fails every other second\nschedule: every 2s\ntask: { type: command, command: "test $(( $(date +%s) % 4 )) -lt 2" }\n',
  'report.yaml': 'description: A manual report\nschedule: { cron: "0 3 * * *", timezone: Europe/Berlin }\ntask: { type: command, command: ["echo", "report"] }\n',
  'broken.yaml': 'schedule: { cron: "61 * * * *" }\ntask: { type: command, command: ["true"] }\n',
};

const work = mkdtempSync(path.join(tmpdir(), 'jobsd-screenshot-'));
chmodSync(work, 0o755); // as root, the postgres user must reach the data directory
const jobsDir = path.join(work, 'jobs.d');
const quiet = { info: () => undefined, warn: (m: string) => process.stderr.write(m + '\n') };
const db = await startEmbeddedPostgres(path.join(work, 'data'), quiet);
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
let agent: ReturnType<typeof spawn> | undefined;
try {
  mkdirSync(jobsDir);
  for (const [name, text] of Object.entries(JOBS)) writeFileSync(path.join(jobsDir, name), text);
  agent = spawn(process.execPath, [path.join(ROOT, 'bin', 'jobsd.js'), 'start', '--jobs-dir', jobsDir, '--database-url', db.url, '--http', `127.0.0.1:${port}`], { stdio: 'ignore' });
  // Twenty seconds of runs draw a timeline worth showing.
  for (let i = 0; ; i++) {
    const runs = await fetch(`${base}/api/jobs/tick/runs?limit=20`).then((r) => (r.ok ? (r.json() as Promise<{ runs: unknown[] }>) : { runs: [] }), () => ({ runs: [] }));
    if (runs.runs.length >= 20) break;
    if (i > 600) throw new Error('the agent ran no jobs within a minute');
    await sleep(100);
  }
  const browser = await chromium.launch({ executablePath: process.env.JOBSD_CHROMIUM ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 560 } });
    await page.goto(`${base}/`);
    await page.screenshot({ path: OUT });
  } finally {
    await browser.close();
  }
  process.stdout.write(`wrote ${path.relative(ROOT, OUT)}\n`);
} finally {
  if (agent?.exitCode === null) {
    agent.kill('SIGTERM');
    await new Promise((resolve) => agent!.once('exit', resolve));
  }
  await db.stop();
  rmSync(work, { recursive: true, force: true });
}

// Regenerates the screenshots of the status page and of a job's page in docs/screenshots/, at 1,400 and
// 390 px (the job's page on a phone scrolled to its runs), and the status page in dark mode: an agent on an embedded PostgreSQL and a few example jobs,
// all in temporary directories, and Debian's Chromium through playwright-core.
//   npm run screenshot        (JOBSD_CHROMIUM: another browser binary; default /usr/bin/chromium)

import { spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser } from 'playwright-core';
import { freePort, startEmbeddedPostgres } from '../src/db/embedded.ts';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const OUT = path.join(ROOT, 'docs', 'screenshots');
const TOKEN = 'screenshot-token';
const JOBS: Record<string, string> = {
  'tick.yaml': 'description: Every second\nschedule: every 1s\ntask: { type: command, command: ["true"] }\n',
  'flaky.yaml': 'description: Fails every other second\nschedule: every 2s\ntask: { type: command, command: \'echo "checking upstream"; test $(( $(date +%s) % 4 )) -lt 2 || { echo "upstream answered 503" >&2; exit 1; }\' }\n',
  'report.yaml': 'description: The nightly sales report\nschedule: { cron: "0 3 * * *", timezone: Europe/Berlin }\ntask: { type: command, command: ["echo", "report: 1,204 orders"] }\n',
  'cleanup.yaml': 'description: Removes old exports\nschedule: "*/15 * * * *"\ntask: { type: command, command: ["true"] }\n',
  'backup.yaml': 'description: Database backup (its file breaks below)\nschedule: "0 1 * * *"\ntask: { type: command, command: ["true"] }\n',
  'broken.yaml': 'schedule: { cron: "61 * * * *" }\ntask: { type: command, command: ["true"] }\n',
};

const work = mkdtempSync(path.join(tmpdir(), 'jobsd-screenshot-'));
chmodSync(work, 0o755); // as root, the postgres user must reach the data directory
const jobsDir = path.join(work, 'jobs.d');
const quiet = { info: () => undefined, warn: (m: string) => process.stderr.write(m + '\n') };
const db = await startEmbeddedPostgres(path.join(work, 'data'), quiet);
const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const post = (target: string, body?: string) =>
  fetch(`${base}${target}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, ...(body ? { body } : {}) });
let agent: ReturnType<typeof spawn> | undefined;
let browser: Browser | undefined;
try {
  mkdirSync(jobsDir);
  mkdirSync(OUT, { recursive: true });
  for (const [name, text] of Object.entries(JOBS)) writeFileSync(path.join(jobsDir, name), text);
  agent = spawn(process.execPath, [path.join(ROOT, 'bin', 'jobsd.js'), 'start', '--jobs-dir', jobsDir, '--database-url', db.url, '--http', `127.0.0.1:${port}`], {
    stdio: 'ignore',
    env: { ...process.env, JOBSD_API_TOKEN: TOKEN },
  });
  // Twenty seconds of runs draw a timeline worth showing.
  for (let i = 0; ; i++) {
    const runs = await fetch(`${base}/api/jobs/tick/runs?limit=20`).then((r) => (r.ok ? (r.json() as Promise<{ runs: unknown[] }>) : { runs: [] }), () => ({ runs: [] }));
    if (runs.runs.length >= 20) break;
    if (i > 600) throw new Error('the agent ran no jobs within a minute');
    await sleep(100);
  }
  await post('/api/jobs/report/run');
  await post('/api/jobs/cleanup/pause', '{"reason":"storage migration"}');
  writeFileSync(path.join(jobsDir, 'backup.yaml'), 'description: Database backup (its file breaks below)\nschedule: "0 25 * * *"\ntask: { type: command, command: ["true"] }\n');
  await sleep(2_000); // the reload of the broken file, and the manual run
  browser = await chromium.launch({ executablePath: process.env.JOBSD_CHROMIUM ?? '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu'] });
  const shots: [string, string, number, 'light' | 'dark'][] = [
    ['status-1400.png', '/', 1400, 'light'],
    ['status-390.png', '/', 390, 'light'],
    ['status-1400-dark.png', '/', 1400, 'dark'],
    ['job-1400.png', '/jobs/flaky', 1400, 'light'],
    ['job-390.png', '/jobs/flaky', 390, 'light'],
  ];
  for (const [name, target, width, colorScheme] of shots) {
    const job = target.startsWith('/jobs/');
    const page = await browser.newPage({ viewport: { width, height: width < 800 ? 844 : job ? 1150 : 900 }, colorScheme });
    await page.goto(`${base}${target}`);
    if (job) {
      await page.locator('tr.detail summary').first().click(); // the newest run's output and error
      // At 1,400 px the page from its top; on a phone its runs, as cards.
      await page.evaluate(width < 800 ? "document.getElementById('runs-heading').scrollIntoView()" : 'window.scrollTo(0, 0)');
    }
    await page.screenshot({ path: path.join(OUT, name) });
    await page.close();
    process.stdout.write(`wrote ${path.relative(ROOT, path.join(OUT, name))}\n`);
  }
} finally {
  await browser?.close();
  if (agent?.exitCode === null) {
    agent.kill('SIGTERM');
    await new Promise((resolve) => agent!.once('exit', resolve));
  }
  await db.stop();
  rmSync(work, { recursive: true, force: true });
}

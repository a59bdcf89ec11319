// The HTTP endpoint of a real agent: the JSON API, a manual run over HTTP, the metrics after some runs, and
// the status page in a real browser (Debian's Chromium driven by playwright-core), with a screenshot (to a
// temporary file; the README's are `npm run screenshot`, scripts/status-page-screenshot.ts). The pages in
// full, at both widths and in dark mode: test/agent/status-page.test.ts.
import assert from 'node:assert/strict';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { freePort } from '../../src/db/embedded.ts';
import { jobsDir, ledger, startAgent, type AgentProcess } from '../helpers/agent.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';

const CHROMIUM = process.env.JOBSD_TEST_CHROMIUM ?? '/usr/bin/chromium';
// eslint-disable-next-line @typescript-eslint/no-explicit-any
const body = async (res: Response): Promise<any> => res.json();

let agent: AgentProcess;
let base: string;
let url: string;
let dir: string;

before(async () => {
  url = await freshDatabase('http');
  dir = jobsDir({
    'tick.yaml': 'description: Every second\nschedule: every 1s\ntask: { type: command, command: ["true"] }\n',
    'flaky.yaml': 'description: Fails every other second\nschedule: every 2s\ntask: { type: command, command: "test $(( $(date +%s) % 4 )) -lt 2" }\n',
    'report.yaml': 'description: A manual report\nschedule: { cron: "0 3 * * *", timezone: Europe/Berlin }\ntask: { type: command, command: ["echo", "report for ${REPORT_TOKEN:-x}"], env: { API_TOKEN: "tok-123456" } }\n',
    'broken.yaml': 'schedule: { cron: "61 * * * *" }\ntask: { type: command, command: ["true"] }\n',
  });
  const port = await freePort();
  agent = await startAgent({ name: 'http-agent', jobsDir: dir, databaseUrl: url, args: ['--http', `127.0.0.1:${port}`], env: { JOBSD_API_TOKEN: 'test-token' } });
  base = `http://127.0.0.1:${port}`;
  await pollUntil(async () => (await ledger(url, 'tick')).filter((r) => r.state === 'succeeded').length >= 3, { timeoutMs: 20_000, what: 'three tick runs' });
});
after(async () => {
  await agent?.stop();
});

describe('HTTP endpoint of a running agent', () => {
  it('lists the jobs with schedule, next fire in the zone and UTC, last result; files in error separately', async () => {
    // The last run of a job firing every second may be running at any given moment: wait for a moment it is not.
    const list = await pollUntil(async () => {
      const answer = await body(await fetch(`${base}/api/jobs`));
      return answer.jobs.find((j: { id: string }) => j.id === 'tick')?.last_run?.state === 'succeeded' ? answer : undefined;
    }, { timeoutMs: 10_000, what: "tick's last run listed as succeeded" });
    assert.deepEqual(list.jobs.map((j: { id: string }) => j.id).sort(), ['flaky', 'report', 'tick']);
    const report = list.jobs.find((j: { id: string }) => j.id === 'report');
    assert.match(report.next_fire.local, /T03:00:00\.000\+0[12]:00$/);
    assert.match(report.next_fire.utc, /T0[12]:00:00\.000Z$/);
    const tick = list.jobs.find((j: { id: string }) => j.id === 'tick');
    assert.equal(tick.last_run.state, 'succeeded');
    const files = await body(await fetch(`${base}/api/files`));
    assert.equal(files.file_errors.length, 1);
    assert.match(files.file_errors[0].text, /broken\.yaml:1:\d+: schedule\.cron: "61 \* \* \* \*": minute must be 0-59/);
    const one = await body(await fetch(`${base}/api/jobs/report`));
    assert.equal(one.definition.task.env.API_TOKEN, '[redacted]');
    const runs = await body(await fetch(`${base}/api/jobs/tick/runs?limit=2`));
    assert.equal(runs.runs.length, 2);
    assert.ok(runs.runs[0].lateness_ms >= 0);
  });

  it('a manual run over HTTP needs the token, then runs through the queue', async () => {
    assert.equal((await fetch(`${base}/api/jobs/report/run`, { method: 'POST' })).status, 401);
    const res = await fetch(`${base}/api/jobs/report/run`, { method: 'POST', headers: { authorization: 'Bearer test-token' } });
    assert.equal(res.status, 202);
    const { run_id: runId } = await body(res);
    const row = await pollUntil(async () => (await ledger(url, 'report')).find((r) => r.run_id === runId && r.state === 'succeeded'), { timeoutMs: 10_000, what: 'the manual run' });
    assert.equal(row.manual, true);
    assert.equal((row.result!.details as { output_tail: string }).output_tail, 'report for x\n');
  });

  it('exports Prometheus metrics: fires by job and state, durations, lateness, next fire, file errors, queue depth', async () => {
    await pollUntil(async () => (await ledger(url, 'flaky')).some((r) => r.state === 'failed'), { timeoutMs: 15_000, what: 'a failed flaky run' });
    const text = await (await fetch(`${base}/metrics`)).text();
    const value = (line: RegExp) => Number(text.match(line)?.[1]);
    assert.ok(value(/^jobsd_fires_total\{job="tick",state="succeeded"\} (\d+)/m) >= 3, 'tick succeeded');
    assert.ok(value(/^jobsd_fires_total\{job="flaky",state="failed"\} (\d+)/m) >= 1, 'flaky failed');
    assert.ok(value(/^jobsd_run_duration_seconds_count\{job="tick",status="succeeded"\} (\d+)/m) >= 3);
    assert.ok(value(/^jobsd_fire_lateness_seconds_count\{job="tick"\} (\d+)/m) >= 3);
    assert.ok(value(/^jobsd_next_fire_timestamp_seconds\{job="report"\} (\d+)/m) > Date.now() / 1000);
    assert.ok(value(/^jobsd_last_success_timestamp_seconds\{job="tick"\} ([\d.e+]+)/m) > Date.now() / 1000 - 60);
    assert.equal(value(/^jobsd_file_errors (\d+)/m), 1);
    assert.match(text, /^jobsd_queue_depth\{queue="[a-z-]+",state="queued"\} \d+/m);
    assert.equal(value(/^jobsd_up (\d+)/m), 1);
    assert.doesNotMatch(text, /run_id|tok-123456/, 'no run ids as labels, no secrets');
  });

  it('the status page shows the jobs, the file error on top and a timeline of runs, in a real browser', async () => {
    let browser: Browser | undefined;
    try {
      browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      const page = await browser.newPage({ viewport: { width: 1400, height: 560 } });
      await page.goto(`${base}/`);
      assert.equal(await page.locator('#file-errors pre').count(), 1);
      assert.match(await page.locator('#file-errors').innerText(), /broken\.yaml/);
      const ids = await page.locator('tr.job .id').allInnerTexts();
      assert.deepEqual(ids.sort(), ['flaky', 'report', 'tick']);
      const tick = page.locator('tr.job[data-job="tick"]');
      assert.ok((await tick.locator('svg.timeline rect.run.succeeded').count()) >= 3, 'succeeded runs drawn in the timeline');
      const title = await tick.locator('svg.timeline rect.run.succeeded title').first().textContent();
      assert.match(title ?? '', /succeeded · fire .* · lateness \d+ ms · duration [\d.]+ s/);
      const colour = await tick.locator('svg.timeline rect.run.succeeded').first().getAttribute('fill');
      assert.equal(colour, '#2e9d4f');
      // The next fire as a relative time, the exact instant in the job's zone and UTC on hover.
      assert.match(await page.locator('tr.job[data-job="report"] td.next').innerText(), /^in \d+ (s|min|h)$/);
      assert.match(String(await page.locator('tr.job[data-job="report"] td.next time').getAttribute('title')), / 03:00:00 \+0[12]:00 Europe\/Berlin · .* 0[12]:00:00 UTC$/);
      // Tests write only to temporary directories: docs/screenshots/ is `npm run screenshot`'s.
      const shot = path.join(mkdtempSync(path.join(tmpdir(), 'jobsd-http-')), 'status-page.png');
      await page.screenshot({ path: shot });
      assert.ok(statSync(shot).size > 10_000, 'a screenshot of the page');
    } finally {
      await browser?.close();
    }
  });
});

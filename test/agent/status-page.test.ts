// The status page and a job's page in a real browser (Debian's Chromium through playwright-core), over a
// ledger made by running real jobs through a real agent: failed, succeeded and manual runs, fires missed
// during a downtime, a paused job, a job whose file broke after it loaded, and 125 jobs to page through.
// Both pages at 1,400 and 390 px (screenshots in a temporary directory), in light and dark mode, with
// axe-core's accessibility check: no serious or critical violation.
import assert from 'node:assert/strict';
import { mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import axe from 'axe-core';
import { chromium, type Browser, type Page } from 'playwright-core';
import { freePort } from '../../src/db/embedded.ts';
import { jobsDir, ledger, startAgent, type AgentProcess } from '../helpers/agent.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';

const CHROMIUM = process.env.JOBSD_TEST_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const YEARLY = 'schedule: "0 0 1 1 *"\n';
const BULK = 120;
const TOKEN = 'page-token';

let agent: AgentProcess;
let base: string;
let url: string;
let dir: string;
let browser: Browser;
const shots = mkdtempSync(path.join(tmpdir(), 'jobsd-status-page-'));

async function run(id: string): Promise<void> {
  const res = await fetch(`${base}/api/jobs/${id}/run`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}` } });
  const text = await res.text();
  assert.equal(res.status, 202, text);
  const { run_id: runId } = JSON.parse(text) as { run_id: string };
  await pollUntil(async () => (await ledger(url, id)).some((r) => r.run_id === runId && r.finished_at !== null), { timeoutMs: 15_000, what: `the manual run of ${id}` });
}

/** A page whose clock stands still (the pages reload themselves every 10 s: not in the middle of a check). */
async function page(width: number, colorScheme: 'light' | 'dark' = 'light'): Promise<Page> {
  const p = await browser.newPage({ viewport: { width, height: width > 800 ? 900 : 844 } });
  await p.clock.install();
  await p.emulateMedia({ colorScheme });
  return p;
}

async function seriousViolations(p: Page): Promise<string[]> {
  await p.addScriptTag({ content: axe.source });
  // In the page (a string: this file is type-checked without the DOM's types).
  const result = (await p.evaluate("axe.run(document, { resultTypes: ['violations'] })")) as axe.AxeResults;
  return result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`);
}

before(async () => {
  url = await freshDatabase('status_page');
  const files: Record<string, string> = {
    'fails.yaml': `description: Fails with output\n${YEARLY}task: { type: command, command: 'echo "boom: disk full"; exit 3' }\n`,
    'good.yaml': 'description: Says hello\nschedule: { cron: "0 3 * * *", timezone: Europe/Berlin }\ntask: { type: command, command: \'echo "hello from good"; echo "second line"\' }\n',
    'hold.yaml': `description: Paused for maintenance\n${YEARLY}task: { type: command, command: ["true"] }\n`,
    'gap.yaml': 'description: Misses fires while no agent runs\nschedule: { every: 2s, catchup: skip }\ntask: { type: command, command: ["true"] }\n',
    'shaky.yaml': `description: Its file breaks\n${YEARLY}task: { type: command, command: ["true"] }\n`,
  };
  for (let i = 0; i < BULK; i++) files[`bulk-${String(i).padStart(3, '0')}.yaml`] = `description: Bulk job ${i}\n${YEARLY}task: { type: command, command: ["true"] }\n`;
  dir = jobsDir(files);
  // A downtime: the first agent stops after a run of gap; the second records the fires missed meanwhile.
  const first = await startAgent({ name: 'page-a', jobsDir: dir, databaseUrl: url });
  await pollUntil(async () => (await ledger(url, 'gap')).some((r) => r.state === 'succeeded'), { timeoutMs: 15_000, what: 'a run of gap' });
  assert.equal(await first.stop(), 0);
  const stoppedAt = Date.now();
  await pollUntil(() => Date.now() > stoppedAt + 5_000, { timeoutMs: 10_000, intervalMs: 100, what: 'downtime' });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  agent = await startAgent({ name: 'page-b', jobsDir: dir, databaseUrl: url, args: ['--http', `127.0.0.1:${port}`], env: { JOBSD_API_TOKEN: TOKEN } });
  await pollUntil(async () => (await ledger(url, 'gap')).some((r) => r.state === 'missed'), { timeoutMs: 15_000, what: 'missed fires of gap recorded' });
  await run('fails');
  await run('fails');
  await run('good');
  const paused = await fetch(`${base}/api/jobs/hold/pause`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: '{"reason":"database maintenance"}' });
  assert.equal(paused.status, 200);
  writeFileSync(path.join(dir, 'shaky.yaml'), `description: Its file breaks\nschedule: { cron: "61 * * * *" }\ntask: { type: command, command: ["true"] }\n`);
  await pollUntil(async () => ((await (await fetch(`${base}/api/files`)).json()) as { file_errors: unknown[] }).file_errors.length === 1, { timeoutMs: 10_000, what: 'the broken file reported' });
  browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
});
after(async () => {
  await browser?.close();
  await agent?.stop();
});

describe('the status page in a browser', () => {
  it('the summary counts match the ledger, and each links to the filtered list', async () => {
    const missed = (await ledger(url, 'gap')).filter((r) => r.state === 'missed').length;
    assert.ok(missed >= 1);
    const p = await page(1400);
    await p.goto(`${base}/`);
    const count = async (key: string) => Number(await p.locator(`[data-summary="${key}"] .count`).innerText());
    assert.deepEqual(
      { failing: await count('failing'), missed: await count('missed'), failed: await count('failed'), paused: await count('paused'), broken: await count('broken'), agents: await count('agents') },
      { failing: 1, missed, failed: 2, paused: 1, broken: 1, agents: 1 },
    );
    await p.locator('[data-summary="failing"] a').click();
    assert.deepEqual(await p.locator('tr.job .id').allInnerTexts(), ['fails']);
    await p.goto(`${base}/`);
    await p.locator('[data-summary="paused"] a').click();
    assert.deepEqual(await p.locator('tr.job .id').allInnerTexts(), ['hold']);
    assert.match(await p.locator('tr.job[data-job="hold"] .paused').innerText(), /paused until resumed · by operator: database maintenance/);
    await p.goto(`${base}/`);
    await p.locator('[data-summary="missed"] a').click();
    assert.deepEqual(await p.locator('tr.job .id').allInnerTexts(), ['gap']);
    await p.goto(`${base}/`);
    await p.locator('[data-summary="broken"] a').click();
    assert.deepEqual(await p.locator('tr.job .id').allInnerTexts(), ['shaky']);
    await p.close();
  });

  it('search narrows the list; pagination pages through 125 jobs, 50 a page', async () => {
    const p = await page(1400);
    await p.goto(`${base}/`);
    assert.equal(await p.locator('tr.job').count(), 50);
    assert.match(await p.locator('#shown').innerText(), /jobs 1–50 of 125/);
    await p.locator('a[rel="next"]').click();
    assert.match(await p.locator('.pages').innerText(), /page 2 of 3/);
    assert.equal(await p.locator('tr.job').count(), 50);
    await p.locator('a[rel="next"]').click();
    assert.equal(await p.locator('tr.job').count(), 25);
    assert.equal(await p.locator('a[rel="next"]').count(), 0);
    await p.locator('#q').fill('bulk-01');
    await p.locator('#q').press('Enter');
    await p.waitForURL(/q=bulk-01/);
    assert.deepEqual(await p.locator('tr.job .id').allInnerTexts(), Array.from({ length: 10 }, (_, i) => `bulk-01${i}`));
    await p.locator('#q').fill('says hello');
    await p.locator('#q').press('Enter');
    await p.waitForURL(/q=says/);
    assert.deepEqual(await p.locator('tr.job .id').allInnerTexts(), ['good'], 'by description, whatever the case');
    await p.close();
  });

  it('relative times with the exact instant in the zone and UTC on hover; the broken file marked; timelines', async () => {
    const p = await page(1400);
    await p.goto(`${base}/?q=good`);
    const last = p.locator('tr.job[data-job="good"] td.last time');
    assert.match(await last.innerText(), /^(\d+ (s|min) ago|now)$/);
    assert.match(String(await last.getAttribute('title')), /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \+0[12]:00 Europe\/Berlin · \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC$/);
    const next = p.locator('tr.job[data-job="good"] td.next time');
    assert.match(await next.innerText(), /^in \d+ (s|min|h)$/);
    assert.match(String(await next.getAttribute('title')), / 03:00:00 \+0[12]:00 Europe\/Berlin · /);
    const style = (el: unknown) => (globalThis as unknown as { getComputedStyle(e: unknown): { whiteSpace: string } }).getComputedStyle(el).whiteSpace;
    assert.equal(await next.evaluate(style), 'nowrap', 'a time never wraps');
    await p.goto(`${base}/?q=fails`);
    assert.match(String(await p.locator('tr.job[data-job="fails"] td.last time').getAttribute('title')), /^\S+ \S+ UTC$/, 'UTC once for a UTC job');
    assert.equal(await p.locator('tr.job[data-job="fails"] svg.timeline rect.run.failed').count(), 2);
    assert.match(String(await p.locator('tr.job[data-job="fails"] svg.timeline rect.run.failed title').first().textContent()), /^failed \(manual\) · fire \S+ · duration [\d.]+ s/);
    await p.goto(`${base}/?q=shaky`);
    assert.match(await p.locator('tr.job[data-job="shaky"] .broken').innerText(), /file broken: running its last good version · .*shaky\.yaml:2:\d+: schedule\.cron: "61 \* \* \* \*": minute must be 0-59/);
    await p.goto(`${base}/?q=gap&range=1h`);
    assert.equal(await p.locator('.ranges a[aria-current]').innerText(), '1 h');
    assert.ok((await p.locator('tr.job[data-job="gap"] svg.timeline rect.run.missed').count()) >= 1, 'missed fires drawn');
    await p.close();
  });

  it("a job's page: definition and file, the next 10 fires in its zone and UTC, its runs with output tail and error", async () => {
    const p = await page(1400);
    await p.goto(`${base}/?q=fails`);
    await p.locator('tr.job[data-job="fails"] .id a').click();
    await p.waitForURL(/\/jobs\/fails$/);
    assert.equal(await p.locator('tr.run').count(), 2);
    assert.match(await p.locator('tr.run').first().innerText(), /failed.*\bmanual\b/s);
    await p.locator('tr.detail summary').first().click();
    assert.match(await p.locator('tr.detail pre.output').first().innerText(), /^boom: disk full$/m);
    assert.match(await p.locator('tr.detail .error').first().innerText(), /error: .*3/);
    assert.match(await p.locator('#job-file').innerText(), /fails\.yaml$/);
    assert.match(await p.locator('#definition').innerText(), /"id": "fails"/);
    assert.equal(await p.locator('#next-fires tbody tr').count(), 10);
    assert.equal(await p.locator('#next-fires th').allInnerTexts().then((h) => h.join('|')), '#|UTC|When', 'a UTC job: UTC once');
    await p.goto(`${base}/jobs/good`);
    assert.match((await p.locator('#next-fires th').allInnerTexts()).join('|'), /^#\|Europe\/Berlin\|UTC\|When$/);
    assert.match(await p.locator('#next-fires tbody tr').first().innerText(), /03:00:00 \+0[12]:00/);
    await p.locator('tr.detail summary').first().click();
    assert.match(await p.locator('tr.detail pre.output').first().innerText(), /hello from good\nsecond line/);
    await p.goto(`${base}/jobs/hold`);
    assert.match(await p.locator('[data-paused="true"]').innerText(), /paused until resumed/);
    await p.goto(`${base}/jobs/shaky`);
    assert.match(await p.locator('.broken').innerText(), /file broken/);
    const missing = await p.goto(`${base}/jobs/nothere`);
    assert.equal(missing?.status(), 404);
    assert.match(await p.locator('h1').innerText(), /No job "nothere"/);
    await p.close();
  });

  it('the page reloads itself every 10 s, but not while the search field has the focus', async () => {
    const p = await page(1400);
    await p.goto(`${base}/`);
    const shown = String(await p.locator('.meta time').getAttribute('datetime'));
    await Promise.all([p.waitForEvent('load'), p.clock.runFor(10_000)]);
    const reloaded = String(await p.locator('.meta time').getAttribute('datetime'));
    assert.ok(Date.parse(reloaded) > Date.parse(shown), `rendered again: ${shown} → ${reloaded}`);
    await p.locator('#q').focus();
    await p.locator('#q').pressSequentially('bul');
    await p.clock.runFor(30_000);
    assert.equal(await p.locator('#q').inputValue(), 'bul', 'what was typed stays');
    assert.equal(await p.locator('.meta time').getAttribute('datetime'), reloaded);
    await p.close();
  });

  it('both pages at 1,400 and 390 px, light and dark: no horizontal overflow at 390 px, no serious accessibility violation', async () => {
    const targets = { status: '/', job: '/jobs/fails' };
    for (const [name, target] of Object.entries(targets)) {
      const backgrounds: string[] = [];
      for (const scheme of ['light', 'dark'] as const) {
        for (const width of [1400, 390]) {
          const p = await page(width, scheme);
          await p.goto(`${base}${target}`);
          if (name === 'job') await p.locator('tr.detail summary').first().click();
          if (width === 390) assert.ok(Number(await p.evaluate('document.documentElement.scrollWidth')) <= 390, `${name} ${scheme}: no horizontal scroll at 390 px`);
          backgrounds.push(String(await p.evaluate('getComputedStyle(document.body).backgroundColor')));
          assert.deepEqual(await seriousViolations(p), [], `${name} page, ${scheme}, ${width} px`);
          const shot = path.join(shots, `${name}-${scheme}-${width}.png`);
          await p.screenshot({ path: shot });
          assert.ok(statSync(shot).size > 10_000, `a screenshot of the ${name} page`);
          await p.close();
        }
      }
      assert.notEqual(backgrounds[0], backgrounds[2], `${name}: dark mode changes the background`);
    }
  });
});

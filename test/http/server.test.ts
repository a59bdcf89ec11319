// The HTTP endpoint against an in-memory view of an agent: routing, auth, bad input, limits, error shape.
// test/agent/http.test.ts runs the same endpoints against a real agent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FireRow } from '../../src/db/ledger.ts';
import { startHttp, type HttpEndpoint } from '../../src/http/server.ts';
import type { AgentView, ManualRun } from '../../src/http/view.ts';
import { bearerMatches } from '../../src/http/auth.ts';
import { definitionView } from '../../src/http/api.ts';
import { loadFileWithDefaults } from '../../src/definitions/directory.ts';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { commandJob } from '../helpers/definitions.ts';

const job = commandJob({ id: 'backup', description: 'Nightly backup' });
job.task.env = { DB_PASSWORD: 'hunter22', PLAIN: 'visible' };
job.secrets = ['hunter22', 's3cr3t-from-file'];
const row: FireRow = {
  job_id: 'backup', fire_time: new Date('2026-11-27T10:00:00Z'), run_id: 'r-1', manual: false, state: 'failed', attempts: 1,
  definition_hash: 'h', due_at: null, enqueued_at: new Date('2026-11-27T10:00:00.005Z'), started_at: new Date('2026-11-27T10:00:00.012Z'),
  finished_at: new Date('2026-11-27T10:00:01.512Z'), instance: 'host:1', result: { status: 'failed', message: 'exit code 1 (hunter22 rejected)', details: { output_tail: 'login with s3cr3t-from-file failed' } },
};
let ready: string | null = null;
const manualRuns: string[] = [];
let nextState: ManualRun['state'] = 'queued';
const view: AgentView = {
  instance: 'test:1', version: '0.0.0',
  jobs: () => [job], job: (id) => (id === 'backup' ? job : undefined), fileErrors: () => [],
  nextFire: () => Date.parse('2026-11-27T11:00:00Z'),
  lastRuns: async () => new Map([['backup', row]]), runs: async () => [row],
  lastResultStates: async () => new Map([['backup', row.state]]), lastRunsOf: async () => new Map([['backup', row]]), timelines: async () => new Map([['backup', [row]]]),
  badFires: async () => new Map([['backup', { missed: 0, failed: 1 }]]),
  agents: async () => [
    { name: 'test:1', hostname: 'h', role: 'all', version: '0.0.0', jobs: 1, heartbeatAgeSeconds: 4, stale: false },
    { name: 'gone:2', hostname: 'h', role: 'all', version: '0.0.0', jobs: 1, heartbeatAgeSeconds: 300, stale: true },
  ],
  runNow: async (def) => { manualRuns.push(def.id); return { run_id: 'm-1', fire_time: '2026-11-27T10:30:00.000Z', state: nextState }; },
  readiness: async () => ready, metrics: async () => 'jobsd_up 1\n',
  pauses: async () => new Map(), pause: async () => { throw new Error('not used here: test/http/pause.test.ts runs a real agent'); }, resume: async () => false, backfills: async () => [],
  writeJob: async () => ({ status: 500, body: {} }), deleteJob: async () => ({ status: 500, body: {} }),
};

// eslint-disable-next-line @typescript-eslint/no-explicit-any
const body = async (res: Response): Promise<any> => res.json();

let http: HttpEndpoint;
let secured: HttpEndpoint;
before(async () => {
  http = await startHttp({ host: '127.0.0.1', port: 0, view });
  secured = await startHttp({ host: '127.0.0.1', port: 0, view, apiToken: 'the-token' });
});
after(async () => {
  await http.close();
  await secured.close();
});

describe('HTTP endpoint', () => {
  it('healthz is always ok; readyz reports the readiness check', async () => {
    assert.equal((await fetch(`${http.url}/healthz`)).status, 200);
    ready = 'database unreachable: connection refused';
    const notReady = await fetch(`${http.url}/readyz`);
    assert.equal(notReady.status, 503);
    assert.match(await notReady.text(), /not ready: database unreachable/);
    ready = null;
    assert.equal((await fetch(`${http.url}/readyz`)).status, 200);
  });

  it('unknown paths and methods answer JSON errors with a code, never a stack', async () => {
    const missing = await fetch(`${http.url}/nope`);
    assert.equal(missing.status, 404);
    assert.deepEqual(Object.keys((await body(missing)).error), ['code', 'message']);
    const wrong = await fetch(`${http.url}/api/jobs`, { method: 'DELETE' });
    assert.equal(wrong.status, 405);
    assert.equal((await body(wrong)).error.code, 'method_not_allowed');
    const bad = await fetch(`${http.url}/api/jobs/backup/runs?limit=0`);
    assert.equal(bad.status, 400);
    assert.equal((await body(bad)).error.code, 'bad_query');
    assert.equal((await fetch(`${http.url}/api/jobs/nothere`)).status, 404);
  });

  it('jobs, one job, its runs: secrets are redacted everywhere', async () => {
    const list = await body(await fetch(`${http.url}/api/jobs`));
    assert.equal(list.jobs[0].id, 'backup');
    assert.deepEqual(list.jobs[0].next_fire, { utc: '2026-11-27T11:00:00.000Z', local: '2026-11-27T11:00:00.000Z' });
    assert.equal(list.jobs[0].last_run.state, 'failed');
    assert.equal(list.jobs[0].last_run.lateness_ms, 12);
    const one = await body(await fetch(`${http.url}/api/jobs/backup`));
    assert.deepEqual(one.definition.task.env, { DB_PASSWORD: '[redacted]', PLAIN: '[redacted]' }, 'environment values are never shown');
    assert.equal(one.definition.secrets, undefined);
    const runs = await body(await fetch(`${http.url}/api/jobs/backup/runs?limit=5`));
    assert.equal(runs.runs[0].result.details.output_tail, 'login with [redacted] failed');
    const page = await (await fetch(`${http.url}/`)).text();
    assert.match(page, /exit code 1 \(\[redacted\] rejected\)/, 'the last result message is shown, scrubbed');
    assert.doesNotMatch(page, /hunter22|s3cr3t-from-file/);
    const jobPage = await fetch(`${http.url}/jobs/backup`);
    assert.equal(jobPage.status, 200);
    const jobHtml = await jobPage.text();
    assert.match(jobHtml, /login with \[redacted\] failed/, "the job's page shows the run's output tail, scrubbed");
    assert.match(jobHtml, /&#34;DB_PASSWORD&#34;: &#34;\[redacted\]&#34;/, 'and its definition, redacted');
    assert.doesNotMatch(jobHtml, /hunter22|s3cr3t-from-file|visible/);
  });

  it("the status page's summary counts agents up and marks the stale ones", async () => {
    const page = await (await fetch(`${http.url}/`)).text();
    assert.match(page, /data-summary="agents"><a href="#agents"><span class="count">1<\/span><span class="label">agents up · <span class="stale">1 stale<\/span>/);
    assert.match(page, /<tr data-agent="gone:2">.*5 min ago <span class="stale">stale<\/span>/s);
    assert.match(page, /data-summary="failing"><a href="\/\?filter=failing"><span class="count">1</);
    assert.match(page, /data-summary="failed"><a href="\/\?filter=failed"><span class="count">1</);
  });

  it('an unknown job has a page saying so (404), its id escaped', async () => {
    const res = await fetch(`${http.url}/jobs/%3Cscript%3Ealert(1)%3C%2Fscript%3E`);
    assert.equal(res.status, 404);
    assert.match(String(res.headers.get('content-type')), /^text\/html/);
    const html = await res.text();
    assert.match(html, /No job "&#60;script&#62;alert\(1\)&#60;\/script&#62;"/);
    assert.doesNotMatch(html, /<script>alert/);
  });

  it('POST /api/jobs/:id/run: 404 without a configured token, 401 with a wrong one, 202 with the right one', async () => {
    const disabled = await fetch(`${http.url}/api/jobs/backup/run`, { method: 'POST', headers: { authorization: 'Bearer the-token' } });
    assert.equal(disabled.status, 404);
    assert.match((await body(disabled)).error.message, /JOBSD_API_TOKEN/);
    for (const authorization of [undefined, 'Bearer nope', 'Basic dGhlLXRva2Vu', 'Bearer the-token-and-more']) {
      const res = await fetch(`${secured.url}/api/jobs/backup/run`, { method: 'POST', headers: authorization ? { authorization } : {} });
      assert.equal(res.status, 401, String(authorization));
      assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="jobsd"');
    }
    assert.deepEqual(manualRuns, []);
    const ok = await fetch(`${secured.url}/api/jobs/backup/run`, { method: 'POST', headers: { authorization: 'Bearer the-token' } });
    assert.equal(ok.status, 202);
    assert.deepEqual(await body(ok), { job_id: 'backup', run_id: 'm-1', fire_time: '2026-11-27T10:30:00.000Z', state: 'queued' });
    nextState = 'skipped';
    const busy = await fetch(`${secured.url}/api/jobs/backup/run`, { method: 'POST', headers: { authorization: 'Bearer the-token' } });
    assert.equal(busy.status, 409);
    assert.equal((await body(busy)).error.code, 'overlap');
    const unknown = await fetch(`${secured.url}/api/jobs/nothere/run`, { method: 'POST', headers: { authorization: 'Bearer the-token' } });
    assert.equal(unknown.status, 404);
    const big = await fetch(`${secured.url}/api/jobs/backup/run`, { method: 'POST', headers: { authorization: 'Bearer the-token' }, body: 'x'.repeat(20_000) });
    assert.equal(big.status, 413);
    assert.equal(manualRuns.length, 2);
  });

  it('a job file with credentials from the environment: none of them reach the API', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-api-secrets-'));
    const file = path.join(dir, 'extract.yaml');
    writeFileSync(file, [
      'schedule: "5 * * * *"',
      'notify: { webhook: { url: "https://hooks.example.com/x", headers: { x-signature: "${HOOK_SIG}" } } }',
      'task:',
      '  type: vm-extract',
      '  victoriametrics: { url: "http://vm:8428" }',
      `  query: '{__name__=~"apex_data_.*"}'`,
      '  database: { url: "${EXTRACT_DATABASE_URL}" }',
      '',
    ].join('\n'));
    const loaded = loadFileWithDefaults(file, { env: { EXTRACT_DATABASE_URL: 'postgres://app:Super%40Secret@db:5432/x', HOOK_SIG: 'sig-123456' }, defaultTimezone: 'UTC', allowInsecureFiles: true });
    assert.ok(loaded.ok, JSON.stringify(loaded));
    const text = JSON.stringify(definitionView(loaded.definition));
    assert.doesNotMatch(text, /Super%40Secret|Super@Secret|sig-123456/);
    assert.match(text, /postgres:\/\/app:\[redacted\]@db:5432\/x/);
  });

  it('compares bearer tokens exactly', () => {
    assert.equal(bearerMatches('Bearer abc', 'abc'), true);
    assert.equal(bearerMatches('bearer abc', 'abc'), true);
    assert.equal(bearerMatches('Bearer abcd', 'abc'), false);
    assert.equal(bearerMatches('Bearer ', 'abc'), false);
    assert.equal(bearerMatches(undefined, 'abc'), false);
  });
});

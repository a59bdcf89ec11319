// The pipelines as users run them: `jobsd exec FILE --json` and `jobsd start` (each run in a pipeline
// thread), with a real VictoriaMetrics, PostgreSQL and a local REST source.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { businessDatesBefore, currentBusinessDate } from '../../src/workers/pipelines/business-dates.ts';
import { jobsDir, ledger, startAgent } from '../helpers/agent.ts';
import { runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';
import { startRestSource, type RestSource } from '../helpers/rest-source.ts';
import { startVictoriaMetrics, type VictoriaMetrics } from '../helpers/victoria-metrics.ts';

let vm: VictoriaMetrics;
let source: RestSource;
// Computed again by each test: a run that crosses midnight UTC must not compare against a stale date.
let today = currentBusinessDate(Date.now());
let startDate = businessDatesBefore(today, 2)[0]!;
const refreshDates = () => {
  today = currentBusinessDate(Date.now());
  startDate = businessDatesBefore(today, 2)[0]!;
};

before(async () => {
  [vm, source] = await Promise.all([startVictoriaMetrics(), startRestSource()]);
});
after(async () => {
  await Promise.all([vm?.stop(), source?.close()]);
});

function collector(id: string, schedule: string): string {
  return `id: ${id}
schedule: ${schedule}
task:
  type: vm-collect
  source: { url: "\${APEX_SOURCE_URL}", token: "\${APEX_SOURCE_TOKEN}", date_param: business_date }
  victoriametrics: { url: "\${VM_URL}" }
  metric_prefix: ${id.replace(/-/g, '_')}_data_
  label_fields: [desk]
  labels: { source: apex, job: ${id.replace(/-/g, '_')} }
  watermark: { metric: ${id.replace(/-/g, '_')}_watermark_days, start_date: "${startDate}" }
`;
}

function extractor(id: string, schedule: string, prefix: string, database = ''): string {
  return `id: ${id}
schedule: ${schedule}
task:
  type: vm-extract
  victoriametrics: { url: "\${VM_URL}" }
  query: '{__name__=~"${prefix}.*"}'
  start_date_offset_days: 7
  chunk_size_days: 2
${database ? `  database: { url: "${database}" }\n` : ''}`;
}

describe('pipelines end to end', () => {
  it('jobsd exec runs vm-collect and vm-extract and prints their result JSON', async () => {
    refreshDates();
    const url = await freshDatabase('exec_pipelines');
    const dir = jobsDir({ 'collect.yaml': collector('exec-collect', '"@once"'), 'extract.yaml': extractor('exec-extract', '"@once"', 'exec_collect_data_') });
    const env = { APEX_SOURCE_URL: source.url, APEX_SOURCE_TOKEN: 'source-token-8d1f', VM_URL: vm.url, JOBSD_DATABASE_URL: url };
    const collected = await runCli(['exec', path.join(dir, 'collect.yaml'), '--json'], { env });
    assert.equal(collected.code, 0, collected.stderr);
    const result = JSON.parse(collected.stdout);
    assert.equal(result.status, 'succeeded');
    assert.equal(result.details.watermark_after, today);
    assert.equal(result.details.dates_processed.length, 3);
    assert.doesNotMatch(collected.stdout + collected.stderr, /source-token-8d1f/, 'the source token is in neither the result nor the logs');
    assert.equal(source.lastAuthorization, 'Bearer source-token-8d1f', 'and it was sent');

    // At once, as a retry, a manual run or `overlap: queue` would: no pause, no flush.
    const again = await runCli(['exec', path.join(dir, 'collect.yaml'), '--json'], { env });
    assert.equal(again.code, 0, again.stderr);
    const second = JSON.parse(again.stdout);
    assert.equal(second.details.watermark_before, today, "the second collect starts from the first one's watermark");
    assert.equal(second.details.samples_written, 0, 'and imports nothing again');

    // And an extract at once: it sees every date the collects imported, whole.
    const extracted = await runCli(['exec', path.join(dir, 'extract.yaml'), '--json'], { env });
    assert.equal(extracted.code, 0, extracted.stderr);
    const out = JSON.parse(extracted.stdout);
    assert.equal(out.status, 'succeeded', out.message);
    assert.deepEqual(out.details.dates_processed, result.details.dates_processed);
    assert.equal(out.details.samples_read, 3 * 3 * 2, 'each sample once in VictoriaMetrics');
    assert.equal(out.details.samples_written, 3 * 3 * 2);
    const db = new pg.Client({ connectionString: url });
    await db.connect();
    try {
      const { rows } = await db.query(`SELECT biz_date::text AS d, count(*)::int AS n FROM vm_extracted_metrics WHERE job_id = 'exec-extract' GROUP BY 1 ORDER BY 1`);
      assert.deepEqual(rows, result.details.dates_processed.map((d: string) => ({ d, n: 3 * 2 })), 'every date whole: 3 desks × 2 fields');
    } finally {
      await db.end();
    }

    const noDatabase = await runCli(['exec', path.join(dir, 'extract.yaml'), '--json'], { env: { ...env, JOBSD_DATABASE_URL: '', DATABASE_URL: '' } });
    assert.equal(noDatabase.code, 1);
    assert.match(JSON.parse(noDatabase.stdout).message, /vm-extract has no database: set task\.database\.url/);
  });

  it('jobsd start runs both on their schedules; vm-extract writes to the agent database when it names none', async (t) => {
    refreshDates();
    const url = await freshDatabase('agent_pipelines');
    const dir = jobsDir({
      'collect.yaml': collector('agent-collect', '"every 2s"'),
      'extract.yaml': extractor('agent-extract', '"every 2s"', 'agent_collect_data_'),
    });
    writeFileSync(path.join(dir, '_defaults.yaml'), 'overlap: skip\n');
    process.env.APEX_SOURCE_URL = source.url;
    process.env.APEX_SOURCE_TOKEN = '';
    process.env.VM_URL = vm.url;
    const agent = await startAgent({ name: 'pipelines', jobsDir: dir, databaseUrl: url });
    t.after(() => agent.stop('SIGKILL'));
    // The extractor may read a date while the collector is still importing it; a later run completes it.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      await pollUntil(
        async () => {
          const { rows } = await client.query(`SELECT count(*)::int AS n FROM vm_extracted_metrics WHERE job_id = 'agent-extract'`).catch(() => ({ rows: [{ n: 0 }] }));
          return rows[0].n === 18;
        },
        { timeoutMs: 30_000, intervalMs: 250, what: 'the 18 collected samples extracted into the agent database' },
      );
    } finally {
      await client.end();
    }
    const collected = (await ledger(url, 'agent-collect')).filter((r) => r.state === 'succeeded');
    assert.ok(collected.length >= 1);
    const extracted = (await ledger(url, 'agent-extract')).filter((r) => r.state === 'succeeded');
    assert.ok(extracted.some((r) => (r.result!.details as { samples_written: number }).samples_written > 0));
    const line = agent.logs.find((l) => l.msg === 'business date imported');
    assert.ok(line, 'the pipeline thread logs through the agent');
    assert.equal(line.job, 'agent-collect');
    assert.equal(typeof line.run, 'string');
  });
});

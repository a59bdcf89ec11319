// The example jobs.d/csv-report.yaml end to end: a running agent fetches JSON rows from a local HTTP
// source, its script (jobs.d/scripts/json-to-csv.py) writes them as CSV into JOBSD_OUTPUT_DIR, and the
// success mail reaching a real SMTP server carries the file (name, content type, content). The ledger
// keeps the listing, never the contents, and the run's directory is gone afterwards.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import pg from 'pg';
import { jobsDir, startAgent } from '../helpers/agent.ts';
import { ROOT, runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';
import { startSmtpReceiver } from '../helpers/receivers.ts';

const ROWS = [
  { desk: 'fx', pnl: 12.5, note: 'plain', tags: ['a', 'b'] },
  { desk: 'rates', pnl: -3, note: 'has, a comma and "quotes"' },
  { desk: 'credit', pnl: 0, extra: true },
];
const CSV = [
  'desk,pnl,note,tags,extra',
  'fx,12.5,plain,"[""a"",""b""]",',
  'rates,-3,"has, a comma and ""quotes""",,',
  'credit,0,,,true',
  '',
].join('\r\n');

it('jobs.d/csv-report.yaml mails the CSV its script made from the JSON source, on success', async (t) => {
  const source = createServer((req, res) => {
    if (req.url !== '/report') return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ rows: ROWS }));
  });
  await new Promise<void>((resolve) => source.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => source.close(() => resolve())));
  const smtp = await startSmtpReceiver();
  t.after(() => smtp.close());

  // The example as shipped: the job file and its script, in a jobs.d of the test's own.
  const dir = jobsDir();
  copyFileSync(path.join(ROOT, 'jobs.d', 'csv-report.yaml'), path.join(dir, 'csv-report.yaml'));
  mkdirSync(path.join(dir, 'scripts'));
  copyFileSync(path.join(ROOT, 'jobs.d', 'scripts', 'json-to-csv.py'), path.join(dir, 'scripts', 'json-to-csv.py'));
  const outputBase = mkdtempSync(path.join(tmpdir(), 'jobsd-csv-report-tmp-'));
  const env = {
    REPORT_SOURCE_URL: `http://127.0.0.1:${(source.address() as AddressInfo).port}/report`,
    REPORT_MAIL_TO: 'reports@example.com',
    JOBSD_SMTP_URL: smtp.url,
    TMPDIR: outputBase,
  };
  const url = await freshDatabase('csv-report');
  const agent = await startAgent({ name: 'csv-report-agent', jobsDir: dir, databaseUrl: url, env });
  t.after(() => agent.stop());

  const queued = await runCli(['run', 'csv-report', '--jobs-dir', dir, '--database-url', url], { env });
  assert.equal(queued.code, 0, queued.stderr);
  await pollUntil(() => smtp.mails.length >= 1, { timeoutMs: 30_000, what: 'the report mail' });

  const mail = smtp.mails[0]!;
  assert.equal(mail.subject, '[jobsd] csv-report: succeeded');
  assert.deepEqual((Array.isArray(mail.to) ? mail.to : [mail.to]).flatMap((a) => a!.value.map((v) => v.address)), ['reports@example.com']);
  const csv = mail.attachments.find((a) => a.filename === 'daily-report.csv');
  assert.ok(csv, `attachments: ${mail.attachments.map((a) => a.filename).join(', ')}`);
  assert.equal(csv.contentType, 'text/csv');
  assert.equal(csv.content.toString('utf8'), CSV);
  assert.match(mail.text ?? '', /daily-report\.csv \(\d+ bytes, text\/csv\): attached/);
  assert.match(mail.text ?? '', /wrote 3 rows, 5 columns to daily-report\.csv/);

  // The ledger lists the file; its contents are nowhere in the database.
  const db = new pg.Client({ connectionString: url });
  await db.connect();
  t.after(() => db.end());
  const { rows } = await db.query<{ result: { status: string; details: { output_files: unknown } } }>("SELECT result FROM jobsd.fires WHERE job_id = 'csv-report'");
  assert.equal(rows[0]?.result.status, 'succeeded');
  assert.deepEqual(rows[0]?.result.details.output_files, [{ name: 'daily-report.csv', size: Buffer.byteLength(CSV), content_type: 'text/csv', kept: true }]);
  assert.equal(JSON.stringify(rows).includes('quotes'), false);
  // The run's JOBSD_OUTPUT_DIR is gone (the agent's other temporary files aside).
  assert.deepEqual(readdirSync(outputBase).filter((name) => name.startsWith('jobsd-output-')), []);
});

it('the example is disabled unless REPORT_SOURCE_URL is set', async () => {
  const dir = jobsDir();
  copyFileSync(path.join(ROOT, 'jobs.d', 'csv-report.yaml'), path.join(dir, 'csv-report.yaml'));
  const off = await runCli(['list', '--jobs-dir', dir, '--json'], { env: { REPORT_SOURCE_URL: undefined } });
  const on = await runCli(['list', '--jobs-dir', dir, '--json'], { env: { REPORT_SOURCE_URL: 'http://127.0.0.1:1/report' } });
  const enabled = (r: typeof off) => (JSON.parse(r.stdout) as { jobs: Array<{ id: string; enabled: boolean }> }).jobs.find((j) => j.id === 'csv-report')?.enabled;
  assert.equal(enabled(off), false, off.stdout + off.stderr);
  assert.equal(enabled(on), true, on.stdout + on.stderr);
});

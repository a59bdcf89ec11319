import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { assertValid, cronOracle, FIXTURES, importInto, nextFires } from './helpers.ts';

const FROM = '2026-12-01T00:00:00Z';

test('the jobs service config: OmegaConf interpolation, environments into each job, max_workers pointed at --concurrency', async () => {
  const r = await importInto(['apscheduler', path.join(FIXTURES, 'vm-jobs.yaml')]);
  assert.equal(r.code, 0, r.stderr);
  const collector = r.files['apex_collector.yaml']!;
  assert.deepEqual((collector.task as { command: string[] }).command, ['python3', 'scripts/apex_collector.py', '--vm-url', '${VM_URL:-http://localhost:8428}', '--window', '3']);
  assert.deepEqual(collector.schedule, { type: 'cron', args: { day_of_week: 'mon-fri', hour: '6-22', minute: '*/15' }, timezone: 'Europe/Berlin' });
  assert.deepEqual((collector.environments as { prod: { task: { command: string[] } } }).prod.task.command[3], 'http://vm-prod:8428');
  const extractor = r.files['apex_extractor.yaml']!;
  assert.deepEqual((extractor.task as { command: string[] }).command, ['python3', '/opt/jobs/extract.py', '--target', '${EXTRACT_DB_URL:?set EXTRACT_DB_URL to the target database}', '--chunk-days', '7', '--verbose']);
  assert.deepEqual(extractor.environments, { prod: { enabled: false } });
  assert.match(r.stderr, /max_workers 4 is an agent setting: start the agent with --concurrency 4/);
  assert.match(r.stderr, /OmegaConf used the default only when VAR was unset/);

  const env = { EXTRACT_DB_URL: 'postgres://x@db/metrics' };
  await assertValid(r.dir, env);
  const missing = await runCli(['validate', r.dir], { env: { EXTRACT_DB_URL: '' } });
  assert.equal(missing.code, 1);
  assert.match(missing.stdout, /EXTRACT_DB_URL is not set: set EXTRACT_DB_URL to the target database/);
  // APScheduler's mon-fri, hour 6-22, minute */15 in the scheduler's zone, as cron would say it.
  assert.deepEqual(await nextFires(path.join(r.dir, 'apex_collector.yaml'), FROM, 120, env), cronOracle('*/15 6-22 * * 1-5', 'Europe/Berlin', FROM, 120));
  const prod = await runCli(['exec', path.join(r.dir, 'apex_collector.yaml'), '--env', 'prod', '--json'], { env: { ...env, PATH: `${path.join(FIXTURES, 'bin')}:${process.env.PATH}` } });
  assert.match(prod.stdout, /args: scripts\/apex_collector.py --vm-url http:\/\/vm-prod:8428 --window 3/);
});

test('a LogIngest config.yaml: scheduler defaults, sources with schedule, timeout, retry; a source without a command is dropped', async () => {
  const r = await importInto(['apscheduler', path.join(FIXTURES, 'logingest-config.yaml')]);
  assert.equal(r.code, 1);
  assert.deepEqual(Object.keys(r.files).sort(), ['audit.yaml', 'nginx-access.yaml']);
  const nginx = r.files['nginx-access.yaml']!;
  assert.deepEqual(nginx.schedule, { cron: '*/5 * * * *', timezone: 'UTC' });
  assert.equal(nginx.timeout, '5m');
  assert.deepEqual(nginx.retry, { attempts: 2, delay: '1m' });
  assert.deepEqual(r.files['audit.yaml']!.retry, { attempts: 4, delay: '1m' });
  assert.match(r.stderr, /dropped: .*sources legacy-syslog \[legacy-syslog\]: not imported: the source names no command/);
  assert.match(r.stderr, /--concurrency 3/);
  await assertValid(r.dir);
});

test('usage: an unknown format is exit 2; --dry-run writes nothing; --json carries the files and the notes', async () => {
  const unknown = await runCli(['import', 'anacron', 'x']);
  assert.equal(unknown.code, 2);
  assert.match(unknown.stderr, /unknown FORMAT "anacron"/);
  const dry = await importInto(['apscheduler', '--dry-run', path.join(FIXTURES, 'vm-jobs.yaml')]);
  assert.equal(dry.code, 0);
  assert.deepEqual(dry.files, {});
  assert.match(dry.stdout, /would write .*apex_collector\.yaml/);
  const json = await runCli(['import', 'crontab', '--json', path.join(FIXTURES, 'bad-crontab')]);
  assert.equal(json.code, 1);
  const doc = JSON.parse(json.stdout) as { ok: boolean; jobs: { id: string; text: string }[]; notes: { kind: string; code: string; where: string }[] };
  assert.equal(doc.ok, false);
  assert.deepEqual(doc.jobs.map((j) => j.id), ['ok']);
  assert.match(doc.jobs[0]!.text, /^# Imported by `jobsd import crontab`/);
  assert.ok(doc.notes.some((n) => n.kind === 'dropped' && n.code === 'JOBSD_I_UNPARSED' && n.where.endsWith('bad-crontab:2')));
  const again = await importInto(['crontab', path.join(FIXTURES, 'bad-crontab')]);
  const second = await runCli(['import', 'crontab', path.join(FIXTURES, 'bad-crontab'), '--out', again.dir, '--allow-partial']);
  assert.match(second.stderr, /not written: the file exists/);
});

test('what would not load (an APScheduler week field) is reported; day and day_of_week together fire on days matching both, as in APScheduler', async () => {
  const r = await importInto(['apscheduler', path.join(FIXTURES, 'fortnightly.yaml')]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /dropped: fortnightly\.yaml \[fortnightly\]: the converted file does not validate, fix it by hand: fortnightly\.yaml:\d+:\d+: schedule\.args\.week: week is not supported/);
  assert.doesNotMatch(r.stderr, /\[first-monday\]/);
  const firstMonday = Object.keys(r.files).find((name) => name.startsWith('first-monday'));
  assert.ok(firstMonday, Object.keys(r.files).join(', '));
  assert.deepEqual(await nextFires(path.join(r.dir, firstMonday), '2026-12-01T00:00:00Z', 3), ['2026-12-07T08:00:00.000Z', '2027-01-04T08:00:00.000Z', '2027-02-01T08:00:00.000Z']);
  const validate = await runCli(['validate', r.dir]);
  assert.equal(validate.code, 1, 'jobsd validate agrees');
});

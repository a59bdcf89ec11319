import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { assertValid, cronOracle, FIXTURES, importInto, nextFires } from './helpers.ts';

const FROM = '2026-12-01T00:00:00Z';

test('CronJobs (a document and a List): schedule, timeZone, concurrencyPolicy, deadlines, retries, env from a secret', async () => {
  const r = await importInto(['cronjob', path.join(FIXTURES, 'cronjobs.yaml')]);
  assert.equal(r.code, 1, 'the images are not run: dropped');
  assert.deepEqual(Object.keys(r.files).sort(), ['cache-warmer.yaml', 'db-backup.yaml', 'monthly-invoices.yaml', 'odd-days-or-mondays.yaml']);
  const backup = r.files['db-backup.yaml']!;
  assert.deepEqual(backup.schedule, { cron: '30 2 * * 1-5', timezone: 'Europe/Berlin', catchup: 'latest', catchup_window: '10m' });
  assert.equal(backup.overlap, 'skip');
  assert.equal(backup.timeout, '30m');
  assert.deepEqual(backup.retry, { attempts: 2, delay: '10s', backoff: 2, max_delay: '6m' });
  assert.deepEqual((backup.task as { command: string[] }).command, ['/usr/local/bin/backup', '--target', 's3://backups/prod', '--password', '${PGPASSWORD}', '$(literal)']);
  assert.deepEqual((backup.task as { env: unknown }).env, { BACKUP_BUCKET: 's3://backups/prod', PGPASSWORD: '${PGPASSWORD}' });
  assert.match(r.stderr, /dropped: .*CronJob prod\/db-backup \[db-backup\]: the image registry\.example\.com\/db-backup:1\.4 is not run/);
  assert.match(r.stderr, /env PGPASSWORD comes from secret db-credentials key password/);
  const warmer = r.files['cache-warmer.yaml']!;
  assert.equal(warmer.enabled, false);
  assert.equal(warmer.overlap, 'replace');
  assert.equal(r.files['monthly-invoices.yaml']!.overlap, 'allow');
  await assertValid(r.dir, { PGPASSWORD: 'from-the-agent' });
  const cases = [
    ['db-backup', '30 2 * * 1-5', 'Europe/Berlin', 15],
    ['cache-warmer', '*/15 6-22 * * *', 'America/New_York', 150],
    ['monthly-invoices', '0 3 1 * *', 'UTC', 3],
  ] as const;
  for (const [id, cron, zone, count] of cases) {
    assert.deepEqual(await nextFires(path.join(r.dir, `${id}.yaml`), FROM, count, { PGPASSWORD: 'x' }), cronOracle(cron, zone, FROM, count), id);
  }
  const partial = await importInto(['cronjob', '--allow-partial', path.join(FIXTURES, 'cronjobs.yaml')]);
  assert.equal(partial.code, 0);
});

test("a CronJob's day fields are read as Kubernetes reads them: */2 with a weekday means either (robfig/cron), not both (Vixie)", async () => {
  const r = await importInto(['cronjob', '--allow-partial', path.join(FIXTURES, 'cronjobs.yaml')]);
  const file = path.join(r.dir, 'odd-days-or-mondays.yaml');
  const ours = await nextFires(file, FROM, 20);
  assert.deepEqual(ours, cronOracle('0 6 */2 * 1', 'UTC', FROM, 20, 'kubernetes'));
  assert.notDeepEqual(ours, cronOracle('0 6 */2 * 1', 'UTC', FROM, 20, 'vixie'), 'the two rules differ for this schedule');
  assert.match(r.stderr, /spec\.schedule "0 6 \*\/2 \* 1" is written "0 6 1-31\/2 \* 1"/);
});

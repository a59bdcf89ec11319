import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { assertValid, cronOracle, FIXTURES, importInto, nextFires } from './helpers.ts';

const FROM = '2026-12-01T00:00:00Z';

test('a Debian /etc/crontab: run-parts lines become jobs, the user column is reported dropped (exit 1)', async () => {
  const r = await importInto(['crontab', '--system', path.join(FIXTURES, 'etc-crontab')]);
  assert.equal(r.code, 1, r.stderr);
  assert.deepEqual(Object.keys(r.files).sort(), ['cron.daily.yaml', 'cron.hourly.yaml', 'cron.monthly.yaml', 'cron.weekly.yaml']);
  assert.match(r.stderr, /dropped: .*etc-crontab:18 \[cron\.hourly\]: runs as the agent's user, not as "root"/);
  const daily = r.files['cron.daily.yaml']!;
  assert.equal((daily.task as { command: string }).command, 'test -x /usr/sbin/anacron || { cd / && run-parts --report /etc/cron.daily; }');
  assert.equal(daily.description, undefined, 'the ASCII-art header is no description');
  await assertValid(r.dir);
  for (const [name, cron] of [['cron.hourly', '17 * * * *'], ['cron.daily', '25 6 * * *'], ['cron.weekly', '47 6 * * 7'], ['cron.monthly', '52 6 1 * *']] as const) {
    assert.deepEqual(await nextFires(path.join(r.dir, `${name}.yaml`), FROM, 8), cronOracle(cron, 'UTC', FROM, 8), name);
  }
  const partial = await importInto(['crontab', '--system', '--allow-partial', path.join(FIXTURES, 'etc-crontab')]);
  assert.equal(partial.code, 0);
});

test('a user crontab: CRON_TZ, MAILTO, variables, comments, @reboot, % as standard input; fires equal cron\'s', async () => {
  const r = await importInto(['crontab', path.join(FIXTURES, 'user-crontab')]);
  assert.equal(r.code, 0, r.stderr);
  const dump = r.files['pg_dump.yaml']!;
  assert.equal(dump.description, 'Nightly database dump, kept for a week');
  assert.deepEqual(dump.schedule, { cron: '30 2 * * *', timezone: 'Europe/Berlin' });
  assert.deepEqual(dump.notify, { email: { to: ['ops@example.com', 'dba@example.com'] } });
  assert.deepEqual((dump.task as { env: unknown }).env, { BACKUP_DIR: '/var/backups/db' });
  assert.equal((dump.task as { command: string }).command, 'pg_dump -Fc app > "$BACKUP_DIR/app-$(date +%Y%m%d).dump"');
  assert.equal(r.files['curl.yaml']!.notify, undefined, 'MAILTO="" mails nothing');
  assert.equal(r.files['warm-cache.yaml']!.schedule, '@once');
  assert.match(r.stderr, /@reboot became @once: it runs once ever/);
  assert.match(r.stderr, /cron mailed whenever a command wrote output/);
  await assertValid(r.dir);

  const cases = [
    ['pg_dump', '30 2 * * *', 'Europe/Berlin', 10],
    ['run', '0 7 1,15 * mon', 'Europe/Berlin', 12],
    ['odd-sunday', '15 4 */2 * 0', 'Europe/Berlin', 4],
    ['curl', '*/10 8-18 * * 1-5', 'UTC', 100],
    ['rotate-logs', '@hourly', 'UTC', 30],
    ['mail', '0 9 * * 1', 'UTC', 6],
  ] as const;
  for (const [id, cron, zone, count] of cases) {
    assert.deepEqual(await nextFires(path.join(r.dir, `${id}.yaml`), FROM, count), cronOracle(cron, zone, FROM, count), id);
  }
});

test('the % rule: the command ends at the first unescaped %, the rest reaches its standard input', async () => {
  const r = await importInto(['crontab', path.join(FIXTURES, 'user-crontab')]);
  const exec = await runCli(['exec', path.join(r.dir, 'mail.yaml'), '--json'], {
    env: { PATH: `${path.join(FIXTURES, 'bin')}:${process.env.PATH}` },
  });
  assert.equal(exec.code, 0, exec.stdout + exec.stderr);
  const result = JSON.parse(exec.stdout) as { details: { output_tail: string } };
  assert.match(result.details.output_tail, /args: -s weekly % summary team@example.com/);
  assert.match(result.details.output_tail, /stdin: Hello team,\nthe weekly summary is attached.\n<end>/);
});

test('a line cron would reject is reported with its line and dropped', async () => {
  const r = await runCli(['import', 'crontab', '-'], {});
  assert.equal(r.code, 0, 'empty standard input imports nothing');
  const bad = await importInto(['crontab', path.join(FIXTURES, 'bad-crontab')]);
  assert.equal(bad.code, 1);
  assert.match(bad.stderr, /dropped: .*bad-crontab:2: line not imported: "61 \* \* \* \*": minute/);
  assert.deepEqual(Object.keys(bad.files), ['ok.yaml']);
});

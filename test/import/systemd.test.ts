import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { assertValid, FIXTURES, importInto, nextFires } from './helpers.ts';
import { runCli } from '../helpers/cli.ts';

const FROM = '2026-12-01T00:00:00Z';
const DIR = path.join(FIXTURES, 'systemd');

/** What systemd itself says: the next `count` elapses of each expression, merged and sorted. */
function systemdFires(expressions: string[], count: number): string[] {
  return systemdFiresFrom(FROM, expressions, count);
}

function systemdFiresFrom(from: string, expressions: string[], count: number): string[] {
  const all = expressions.flatMap((expression) => {
    const out = execFileSync('systemd-analyze', ['calendar', `--iterations=${count}`, `--base-time=${from.replace('T', ' ').replace('Z', ' UTC')}`, expression], { env: { ...process.env, TZ: 'UTC' }, encoding: 'utf8' });
    return [...out.matchAll(/(?:Next elapse|Iter\. #\d+): \w+ (\d{4}-\d\d-\d\d \d\d:\d\d:\d\d) UTC/g)].map((m) => `${m[1]!.replace(' ', 'T')}.000Z`);
  });
  return [...new Set(all)].sort().slice(0, count);
}

test('a timer with two OnCalendar= lines, RandomizedDelaySec and Persistent, with its service', async () => {
  const r = await importInto(['systemd', path.join(DIR, 'backup.timer')]);
  assert.equal(r.code, 1, 'User= and the sandboxing are dropped');
  const job = r.files['backup.yaml']!;
  assert.deepEqual(job.schedule, { cron: '30 2,14 * * 1,2,3,4,5', jitter: '5m', catchup: 'latest' });
  assert.equal(job.timeout, '30m');
  assert.deepEqual(job.task, {
    type: 'command',
    command: ['/usr/bin/pg_dump', '--format=custom', '--file=/var/backups/db/app.dump', 'app'],
    env: { BACKUP_DIR: '/var/backups/db', PGDATABASE: 'app' },
    cwd: '/var/backups',
  });
  for (const setting of ['User=backup', 'Nice=10', 'ProtectSystem=strict', 'EnvironmentFile=-/etc/default/backup']) assert.match(r.stderr, new RegExp(`dropped: .*${setting.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  assert.match(r.stderr, /changed: .*AccuracySec=/);
  await assertValid(r.dir);
  const timer = readFileSync(path.join(DIR, 'backup.timer'), 'utf8');
  const calendars = [...timer.matchAll(/^OnCalendar=(.*)$/gm)].map((m) => m[1]!);
  assert.equal(calendars.length, 2);
  assert.deepEqual(await nextFires(path.join(r.dir, 'backup.yaml'), FROM, 20), systemdFires(calendars, 20));
});

test('OnCalendar= lines that one cron expression cannot hold become one job each; their fires together are systemd\'s', async () => {
  const r = await importInto(['systemd', path.join(DIR, 'reports.timer')]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(Object.keys(r.files).sort(), ['reports-2.yaml', 'reports.yaml']);
  assert.match(r.stderr, /2 jobs \(reports, reports-2/);
  const task = r.files['reports.yaml']!.task as { command: string };
  assert.equal(task.command, "/bin/mkdir -p /var/reports &&\n/opt/reports/build 'reports.service report' --out /var/reports &&\n{ /usr/bin/logger 'reports done'; } || true");
  await assertValid(r.dir);
  const ours = [...(await nextFires(path.join(r.dir, 'reports.yaml'), FROM, 12)), ...(await nextFires(path.join(r.dir, 'reports-2.yaml'), FROM, 12))].sort().slice(0, 12);
  assert.deepEqual(ours, systemdFires(['Mon *-*-* 06:00:00 Europe/Berlin', '*-*-01 07:15:00 Europe/Berlin'], 12));
});

test('calendar shorthands, lists, steps and the last day of the month fire as systemd-analyze says', async () => {
  const expressions = ['weekly', 'quarterly', '*:0/15', 'Sat,Sun 10:05', '*-*-1,15 04:00', 'Mon..Wed,Fri *-*-* 23:59:30', '*-*~01 12:00'];
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-import-timers-'));
  for (const [i, expression] of expressions.entries()) {
    writeFileSync(path.join(dir, `t${i}.timer`), `[Timer]\nOnCalendar=${expression}\n`);
    writeFileSync(path.join(dir, `t${i}.service`), '[Service]\nWorkingDirectory=/tmp\nExecStart=/bin/true\n');
    const r = await importInto(['systemd', path.join(dir, `t${i}.timer`)]);
    assert.equal(r.code, 0, `${expression}: ${r.stderr}`);
    await assertValid(r.dir);
    assert.deepEqual(await nextFires(path.join(r.dir, `t${i}.yaml`), FROM, 12), systemdFires([expression], 12), expression);
  }
});

test('a weekday and a day of the month together (both, in systemd) become days_match: both, and fire as systemd-analyze says', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-import-timers-'));
  writeFileSync(path.join(dir, 'first-sat.timer'), '[Timer]\nOnCalendar=Sat *-*-1..7 18:00\n');
  writeFileSync(path.join(dir, 'first-sat.service'), '[Service]\nExecStart=/bin/true\n');
  const r = await importInto(['systemd', path.join(dir, 'first-sat.timer')]);
  assert.doesNotMatch(r.stderr, /dropped: first-sat\.timer:2/);
  assert.deepEqual(r.files['first-sat.yaml']!.schedule, { cron: '0 18 1-7 * 6', days_match: 'both' });
  assert.deepEqual(await nextFires(path.join(r.dir, 'first-sat.yaml'), FROM, 6), systemdFires(['Sat *-*-1..7 18:00'], 6));
  await assertValid(r.dir);
});

test('OnUnitActiveSec= becomes every, OnBootSec= beside it is dropped', async () => {
  const r = await importInto(['systemd', path.join(DIR, 'ticker.timer')]);
  assert.equal(r.code, 1);
  assert.deepEqual(r.files['ticker.yaml']!.schedule, { every: '15m' });
  assert.match(r.stderr, /OnBootSec=2min: the first fire after boot is not imported/);
  assert.match(r.stderr, /jobsd aligns the fires to the Unix epoch/);
  await assertValid(r.dir);
});

test('`systemctl cat` output on standard input: the timer and its service in one stream', async () => {
  const stream = ['backup.timer', 'backup.service'].map((f) => `# /etc/systemd/system/${f}\n${readFileSync(path.join(DIR, f), 'utf8')}`).join('\n');
  const r = await runCli(['import', 'systemd', '-', '--json', '--allow-partial'], { input: stream });
  assert.equal(r.code, 0, r.stderr);
  const doc = JSON.parse(r.stdout) as { jobs: { id: string; text: string }[] };
  assert.deepEqual(doc.jobs.map((j) => j.id), ['backup']);
  assert.match(doc.jobs[0]!.text, /cron: 30 2,14 \* \* 1,2,3,4,5/);
});

test('around DST the fires differ from systemd exactly as the report says: the spring-forward gap', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-import-timers-'));
  writeFileSync(path.join(dir, 'night.timer'), '[Timer]\nOnCalendar=*-*-* 02:30 Europe/Berlin\n');
  writeFileSync(path.join(dir, 'night.service'), '[Service]\nWorkingDirectory=/tmp\nExecStart=/bin/true\n');
  const r = await importInto(['systemd', path.join(dir, 'night.timer')]);
  assert.match(r.stderr, /a fixed time in the spring-forward gap fires at the end of the gap \(systemd skips it that day\)/);
  const from = '2027-03-25T12:00:00Z';
  const ours = await nextFires(path.join(r.dir, 'night.yaml'), from, 5);
  const theirs = systemdFiresFrom(from, ['*-*-* 02:30 Europe/Berlin'], 4);
  assert.deepEqual(ours.filter((t) => t !== '2027-03-28T01:00:00.000Z'), theirs);
  assert.ok(ours.includes('2027-03-28T01:00:00.000Z'), 'jobsd runs the 02:30 of the gap day at 03:00 CEST');
});

// Table tests of the converters' pure parts, without the CLI.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interpolateString } from '../../src/files/interpolate.ts';
import { literal } from '../../src/import/common.ts';
import { importCronJobs } from '../../src/import/cronjob.ts';
import { importCrontab, splitPercent } from '../../src/import/crontab.ts';
import { OmegaResolver } from '../../src/import/omegaconf.ts';
import { calendarToCron, mergeCalendars, type CalendarCron } from '../../src/import/systemd-calendar.ts';
import { splitCommandLine } from '../../src/import/systemd-unit.ts';
import { parseTimeSpan } from '../../src/import/systemd.ts';
import { Notes } from '../../src/import/types.ts';

const isZone = (z: string) => ['UTC', 'Europe/Berlin'].includes(z);

test('literal text survives job-file interpolation unchanged', () => {
  const context = { env: {}, readFile: () => '' };
  for (const text of ['plain', '$HOME', '$$', 'echo $$ ${HOME} $', '$${x}', 'a$', '${', '$$$', 'cost: 5$ {x}']) {
    assert.equal(interpolateString(literal(text), context), text, text);
  }
});

test("cron's % rule", () => {
  assert.deepEqual(splitPercent('date +\\%F'), { command: 'date +%F' });
  assert.deepEqual(splitPercent('mail -s hi a@b%line 1%line 2'), { command: 'mail -s hi a@b', stdin: 'line 1\nline 2' });
  assert.deepEqual(splitPercent('cat%100\\% sure%'), { command: 'cat', stdin: '100% sure\n' });
  assert.deepEqual(splitPercent('echo \\\\x'), { command: 'echo \\\\x' });
});

test('systemd calendar events as cron', () => {
  const cases: [string, string | RegExp][] = [
    ['daily', '0 0 0 * * *'],
    ['Mon..Fri *-*-* 02:30:00', '0 30 2 * * 1,2,3,4,5'],
    ['*:0/15', '0 */15 * * * *'],
    ['*:5/20', '0 5-59/20 * * * *'],
    ['Sat,Sun 10:05', '0 5 10 * * 0,6'],
    ['*-*-1..7 1:2:3', '3 2 1 1-7 * *'],
    ['quarterly', '0 0 0 1 1,4,7,10 *'],
    ['*-*~01', '0 0 0 L * *'],
    ['Sat *-*-1..7 18:00', '0 0 18 1-7 * 6'],
    ['*-*~03', /no cron equivalent/],
    ['*:*:0/10.5', /fractional steps/],
    ['Fri..Mon 00:00', /runs backwards/],
    ['*-*-* 25:00', /out of range/],
  ];
  for (const [text, expected] of cases) {
    const result = calendarToCron(text, isZone);
    if (typeof expected === 'string') assert.equal('error' in result ? result.error : result.fields.join(' '), expected, text);
    else assert.match('error' in result ? result.error : result.fields.join(' '), expected, text);
  }
  assert.equal((calendarToCron('Sat *-*-1..7 18:00', isZone) as { daysMatch?: string }).daysMatch, 'both', 'a weekday and a day: both, as systemd');
  assert.deepEqual(calendarToCron('*-*-* 02:30 Europe/Berlin', isZone), { fields: ['0', '30', '2', '*', '*', '*'], timezone: 'Europe/Berlin' });
  assert.deepEqual(calendarToCron('2027..2028-*-* 00:00', isZone), { fields: ['0', '0', '0', '*', '*', '*'], start_at: '2027-01-01T00:00:00', end_at: '2028-12-31T23:59:59' });
});

test('OnCalendar= lines merge only when one cron expression holds exactly their union', () => {
  const c = (text: string) => calendarToCron(text, isZone) as CalendarCron;
  assert.deepEqual(mergeCalendars([c('*-*-* 02:30'), c('*-*-* 14:30')])?.fields, ['0', '30', '2,14', '*', '*', '*']);
  assert.equal(mergeCalendars([c('*-*-* 02:30'), c('*-*-* 14:45')]), undefined);
  assert.equal(mergeCalendars([c('Mon 06:00'), c('*-*-01 06:00')]), undefined, 'either-or of cron days would be wrong');
  assert.equal(mergeCalendars([c('*-*-* 02:30 UTC'), c('*-*-* 14:30 Europe/Berlin')]), undefined);
});

test('ExecStart= words and time spans as systemd reads them', () => {
  const text = (words: ReturnType<typeof splitCommandLine>) => words.map((w) => w.map((p) => ('text' in p ? p.text : `<${p.variable}${p.split ? ' split' : ''}>`)).join(''));
  assert.deepEqual(text(splitCommandLine(`/bin/echo "a b" 'c d' e\\ f $$HOME \${X} $Y "$Z"`)), ['/bin/echo', 'a b', 'c d', 'e f', '$HOME', '<X>', '<Y split>', '<Z>']);
  assert.equal(parseTimeSpan('5min'), 300_000);
  assert.equal(parseTimeSpan('1h 30min'), 5_400_000);
  assert.equal(parseTimeSpan('90'), 90_000);
  assert.equal(parseTimeSpan('2 weeks'), 1_209_600_000);
  assert.equal(parseTimeSpan('soon'), undefined);
});

test('OmegaConf interpolation as job-file text', () => {
  const config = {
    common: { url: '${oc.env:VM_URL,http://localhost:8428}', port: 8428, name: 'vm' },
    job: {
      a: '${oc.env:TOKEN}',
      b: "${oc.env:LIST,'a,b'}",
      c: '${env_required:DB,give DB}',
      d: '${common.port}',
      e: 'http://${common.name}:${common.port}/x',
      f: '${.a}',
      g: '\\${not.this}',
      h: '${oc.decode:abc}',
      i: '${common.nothing}',
      j: 'costs $$5',
    },
  };
  const notes = new Notes();
  const resolved = new OmegaResolver(config, notes, 'c.yaml').resolve(config.job, ['job']) as Record<string, unknown>;
  assert.deepEqual(resolved, {
    a: '${TOKEN}',
    b: '${LIST:-a,b}',
    c: '${DB:?give DB}',
    d: 8428,
    e: 'http://vm:8428/x',
    f: '${TOKEN}',
    g: '$${not.this}',
    h: '$${oc.decode:abc}',
    i: '$${common.nothing}',
    j: 'costs $$$5',
  });
  assert.deepEqual(notes.list.map((n) => [n.kind, n.where]), [['dropped', 'c.yaml: job.h'], ['dropped', 'c.yaml: job.i']]);
});

test('crontab details: SHELL= runs the command through that shell; a commented-out entry is no description', () => {
  const { jobs } = importCrontab({ name: 'c', text: 'SHELL=/bin/bash\n#0 5 * * * old-job\n# Real words\n0 5 * * * echo ${HOME} $$\n' }, { system: false });
  assert.equal(jobs.length, 1);
  assert.equal(jobs[0]!.job.description, 'Real words');
  assert.deepEqual((jobs[0]!.job.task as { command: unknown }).command, ['/bin/bash', '-c', 'echo $${HOME} $$$']);
});

test('CronJob details: a CRON_TZ= prefix in the schedule, a container without command', () => {
  const manifest = (spec: string) => `kind: CronJob\nmetadata: {name: x}\nspec:\n  schedule: "${spec}"\n  jobTemplate: {spec: {template: {spec: {containers: [{name: c, image: i, command: [run]}]}}}}\n`;
  const zoned = importCronJobs({ name: 'm', text: manifest('CRON_TZ=Europe/Berlin 0 3 * * *') });
  assert.deepEqual((zoned.jobs[0]!.job.schedule as { cron: string; timezone: string }).timezone, 'Europe/Berlin');
  const noCommand = importCronJobs({ name: 'm', text: manifest('0 3 * * *').replace(', command: [run]', '') });
  assert.equal(noCommand.jobs.length, 0);
  assert.match(noCommand.notes.find((n) => n.kind === 'dropped')!.message, /the container has no command/);
});

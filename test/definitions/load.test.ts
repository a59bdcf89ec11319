// Loading valid files: formats, overlays, defaults, compatibility forms, all normalised.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadDirectory, loadFileWithDefaults } from '../../src/definitions/directory.ts';
import { formatFileError } from '../../src/definitions/errors.ts';
import type { LoadOptions } from '../../src/definitions/load.ts';
import type { JobDefinition } from '../../src/definitions/types.ts';

const base: LoadOptions = { env: {}, defaultTimezone: 'UTC' };

function directory(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-load-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  return dir;
}

function load(files: Record<string, string>, name: string, options: Partial<LoadOptions> = {}): JobDefinition {
  const dir = directory(files);
  const result = loadFileWithDefaults(path.join(dir, name), { ...base, ...options });
  assert.ok(result.ok, result.ok ? '' : result.errors.map(formatFileError).join('\n'));
  return result.definition;
}

test('a minimal job gets every default, its id from the file name and cwd from its directory', () => {
  const def = load({ 'backup.yaml': 'schedule: "0 3 * * *"\ntask: { type: command, command: [tar, czf, x.tgz, .] }\n' }, 'backup.yaml');
  assert.equal(def.id, 'backup');
  assert.equal(def.enabled, true);
  assert.equal(def.overlap, 'skip');
  assert.equal(def.timeoutMs, 3_600_000);
  assert.deepEqual(def.retry, { attempts: 0, delayMs: 30_000, backoff: 2, maxDelayMs: 600_000 });
  assert.deepEqual(def.schedule, {
    trigger: { kind: 'cron', expression: '0 3 * * *', source: '0 3 * * *' },
    timezone: 'UTC',
    jitterMs: 0,
    catchup: 'skip',
    catchupWindowMs: 3_600_000,
  });
  assert.deepEqual(def.task, {
    type: 'command',
    command: ['tar', 'czf', 'x.tgz', '.'],
    cwd: path.dirname(def.file),
    env: {},
    cleanEnv: false,
    successExitCodes: [0],
    killGraceMs: 10_000,
  });
  assert.match(def.hash, /^[0-9a-f]{16}$/);
});

test('bare-string schedules: cron, @once, every, ISO timestamp', () => {
  const kinds = (schedule: string, tz = 'UTC') =>
    load({ 'j.yaml': `schedule: "${schedule}"\ntask: { type: command, command: [echo] }\n` }, 'j.yaml', { defaultTimezone: tz }).schedule.trigger;
  assert.deepEqual(kinds('@once'), { kind: 'once' });
  assert.deepEqual(kinds('every 1h30m'), { kind: 'every', intervalMs: 5_400_000, anchorMs: 0 });
  assert.deepEqual(kinds('2026-12-01T02:00:00+01:00'), { kind: 'at', atMs: Date.parse('2026-12-01T01:00:00Z') });
  assert.deepEqual(kinds('2026-12-01T02:00', 'Europe/Berlin'), { kind: 'at', atMs: Date.parse('2026-12-01T01:00:00Z') }, 'no offset: the zone');
  assert.equal(kinds('@daily').kind, 'cron');
});

test('durations and retry are milliseconds; http defaults; jitter, window and catch-up', () => {
  const def = load(
    {
      'h.json5': `{ schedule: { every: 90, jitter: '500ms', catchup: 'all', catchup_window: '2d', start_at: '2026-01-01T00:00:00Z' },
        timeout: '1h30m', retry: { attempts: 3, delay: '30s', backoff: 1.5, max_delay: '10m' },
        task: { type: 'http', url: 'http://127.0.0.1:1/x', method: 'POST', body: { a: 1 }, expect_status: [204, '3xx'] } }`,
    },
    'h.json5',
  );
  assert.equal(def.timeoutMs, 5_400_000);
  assert.deepEqual(def.retry, { attempts: 3, delayMs: 30_000, backoff: 1.5, maxDelayMs: 600_000 });
  assert.deepEqual(def.schedule.trigger, { kind: 'every', intervalMs: 90_000, anchorMs: 0 });
  assert.equal(def.schedule.jitterMs, 500);
  assert.equal(def.schedule.catchup, 'all');
  assert.equal(def.schedule.catchupWindowMs, 172_800_000);
  assert.equal(def.schedule.startAtMs, Date.parse('2026-01-01T00:00:00Z'));
  assert.deepEqual(def.task, { type: 'http', method: 'POST', url: 'http://127.0.0.1:1/x', headers: {}, body: { a: 1 }, expectStatus: [{ code: 204 }, { class: 3 }] });
});

test('environments overlay the job when JOBSD_ENV matches; _defaults lie under every job', () => {
  const files = {
    '_defaults.yaml': 'timeout: 5m\nretry: { attempts: 2 }\nschedule: { timezone: Europe/Berlin }\nenvironments:\n  prod: { timeout: 15m }\n',
    'r.yaml': 'schedule: { cron: "0 1 * * *" }\nretry: { delay: 1m }\ntask: { type: command, command: [echo, "${WHO:-nobody}"] }\nenvironments:\n  prod:\n    schedule: { cron: "0 2 * * *" }\n    task: { env: { X: "1" } }\n',
  };
  const dev = load(files, 'r.yaml', { env: { WHO: 'dev' } });
  assert.equal(dev.timeoutMs, 300_000);
  assert.deepEqual(dev.retry, { attempts: 2, delayMs: 60_000, backoff: 2, maxDelayMs: 600_000 });
  assert.equal(dev.schedule.timezone, 'Europe/Berlin');
  assert.equal(dev.schedule.trigger.kind === 'cron' && dev.schedule.trigger.expression, '0 1 * * *');
  assert.deepEqual((dev.task as { command: string[] }).command, ['echo', 'dev']);
  const prod = load(files, 'r.yaml', { environment: 'prod' });
  assert.equal(prod.timeoutMs, 900_000);
  assert.equal(prod.schedule.trigger.kind === 'cron' && prod.schedule.trigger.expression, '0 2 * * *');
  assert.equal(prod.schedule.timezone, 'Europe/Berlin');
  assert.deepEqual((prod.task as { env: object }).env, { X: '1' });
  assert.notEqual(dev.hash, prod.hash);
});

test('an error in an overlay or in _defaults points at the file and line it came from', () => {
  const dir = directory({
    '_defaults.yaml': 'overlap: sometimes\n',
    'j.yaml': 'schedule: every 1m\ntask: { type: command, command: [echo] }\nenvironments:\n  prod:\n    timeout: soon\n',
  });
  const result = loadFileWithDefaults(path.join(dir, 'j.yaml'), { ...base, environment: 'prod' });
  assert.equal(result.ok, false);
  const lines = result.ok ? [] : result.errors.map(formatFileError);
  assert.ok(lines.includes(`${dir}/_defaults.yaml:1:10: overlap: "sometimes" is not one of "skip", "queue", "allow", "replace"`), lines.join('\n'));
  assert.ok(lines.some((l) => l.startsWith(`${dir}/j.yaml:5:14: timeout: "soon" is not a duration`)), lines.join('\n'));
});

test('compatibility: job_id, execute_command with a string, APScheduler cron/interval/date', () => {
  const legacy = load(
    { 'l.yaml': 'job_id: legacy\nschedule: { type: cron, args: { day_of_week: "mon-fri", hour: 6 } }\ntask: { type: execute_command, command: "echo hi | tr a-z A-Z" }\n' },
    'l.yaml',
  );
  assert.equal(legacy.id, 'legacy');
  assert.deepEqual(legacy.schedule.trigger, { kind: 'cron', expression: '0 0 6 * * 1,2,3,4,5', source: '0 0 6 * * 1,2,3,4,5' });
  assert.equal(legacy.task.type, 'command');
  assert.equal((legacy.task as { command: string }).command, 'echo hi | tr a-z A-Z');

  const trigger = (args: string, type = 'cron') =>
    load({ 'a.yaml': `schedule: { type: ${type}, args: ${args} }\ntask: { type: command, command: [echo] }\n` }, 'a.yaml').schedule.trigger;
  assert.deepEqual(trigger('{ minute: "*/5" }'), { kind: 'cron', expression: '0 */5 * * * *', source: '0 */5 * * * *' });
  assert.deepEqual(trigger('{ day_of_week: "sat,sun", hour: 9, minute: 30 }'), { kind: 'cron', expression: '0 30 9 * * 0,6', source: '0 30 9 * * 0,6' });
  assert.deepEqual(trigger('{ day_of_week: 6 }'), { kind: 'cron', expression: '0 0 0 * * 0', source: '0 0 0 * * 0' }, '6 = Sunday in APScheduler');
  assert.deepEqual(trigger('{ hours: 1, minutes: 30 }', 'interval'), { kind: 'every', intervalMs: 5_400_000, anchorMs: 0 });
  assert.deepEqual(trigger('{ run_date: "2026-12-01 02:00:00" }', 'date'), { kind: 'at', atMs: Date.parse('2026-12-01T02:00:00Z') });
});

test('enabled accepts "true", "false" and "" (false), so ${VAR:+true} turns a job on only when VAR is set', () => {
  const file = { 'v.yaml': 'enabled: "${VM_URL:+true}"\nschedule: every 1m\ntask: { type: command, command: [echo] }\n' };
  assert.equal(load(file, 'v.yaml').enabled, false);
  assert.equal(load(file, 'v.yaml', { env: { VM_URL: 'http://127.0.0.1:8428' } }).enabled, true);
});

test('the example jobs.d loads without errors, in both environments', () => {
  const dir = path.join(import.meta.dirname, '..', '..', 'jobs.d');
  for (const environment of [undefined, 'prod']) {
    const loaded = loadDirectory(dir, { ...base, ...(environment ? { environment } : {}) });
    assert.deepEqual(loaded.errors.map(formatFileError), []);
    assert.ok(loaded.definitions.length >= 8);
  }
});

test('vm-extract: a query that is not a series selector needs a step (raw samples are exported by selector)', () => {
  const dir = directory({
    'sum.yaml': `schedule: "5 * * * *"\ntask:\n  type: vm-extract\n  victoriametrics: { url: "http://vm:8428" }\n  query: 'sum(rate(http_requests_total[5m]))'\n`,
    'stepped.yaml': `schedule: "5 * * * *"\ntask:\n  type: vm-extract\n  victoriametrics: { url: "http://vm:8428" }\n  query: 'sum(rate(http_requests_total[5m]))'\n  step: 5m\n`,
  });
  const bad = loadFileWithDefaults(path.join(dir, 'sum.yaml'), base);
  assert.equal(bad.ok, false);
  assert.match(bad.ok ? '' : formatFileError(bad.errors[0]!), /sum\.yaml:5:\d+: task\.query: .* is not a series selector .*set task\.step/);
  const good = loadFileWithDefaults(path.join(dir, 'stepped.yaml'), base);
  assert.ok(good.ok);
});

test('notify: defaults to failure and recovery; the webhook URL is checked', () => {
  const def = load({ 'n.yaml': 'schedule: "0 3 * * *"\nnotify: { email: { to: [ops@example.com] } }\ntask: { type: command, command: ["true"] }\n' }, 'n.yaml');
  assert.deepEqual(def.notify, { on: ['failure', 'recovery'], email: { to: ['ops@example.com'] } });
  const dir = directory({ 'bad.yaml': 'schedule: "0 3 * * *"\nnotify: { webhook: { url: "not a url" } }\ntask: { type: command, command: ["true"] }\n' });
  const bad = loadFileWithDefaults(path.join(dir, 'bad.yaml'), base);
  assert.equal(bad.ok, false);
  assert.match(bad.ok ? '' : formatFileError(bad.errors[0]!), /bad\.yaml:2:\d+: notify\.webhook\.url/);
});

test('notify.email.attach: true, or a list of file names for a command task (located errors)', () => {
  const job = (attach: string, task = '{ type: command, command: ["true"] }') => `schedule: "0 3 * * *"\nnotify:\n  on: [success]\n  email:\n    to: [ops@example.com]\n    attach: ${attach}\ntask: ${task}\n`;
  assert.deepEqual(load({ 'a.yaml': job('true') }, 'a.yaml').notify?.email, { to: ['ops@example.com'], attach: true });
  assert.deepEqual(load({ 'a.yaml': job('[report.csv, data.json]') }, 'a.yaml').notify?.email, { to: ['ops@example.com'], attach: ['report.csv', 'data.json'] });
  assert.deepEqual(load({ 'a.yaml': job('false') }, 'a.yaml').notify?.email, { to: ['ops@example.com'] });
  const errorOf = (text: string): string => {
    const dir = directory({ 'bad.yaml': text });
    const bad = loadFileWithDefaults(path.join(dir, 'bad.yaml'), base);
    assert.equal(bad.ok, false, text);
    return bad.ok ? '' : bad.errors.map(formatFileError).join('\n');
  };
  assert.match(errorOf(job('[../etc/passwd]')), /bad\.yaml:6:\d+: notify\.email\.attach\[0\]/);
  assert.match(errorOf(job('[".."]')), /bad\.yaml:6:\d+: notify\.email\.attach\[0\]/);
  assert.match(errorOf(job('report.csv')), /bad\.yaml:6:\d+: notify\.email\.attach/);
  // `true` for a task that leaves no files attaches nothing (so that _defaults.yaml can set it for all); a list is an error.
  const http = '{ type: http, url: "http://127.0.0.1:1/" }';
  assert.deepEqual(load({ 'h.yaml': job('true', http) }, 'h.yaml').notify?.email, { to: ['ops@example.com'], attach: true });
  assert.match(errorOf(job('[report.csv]', http)), /bad\.yaml:6:\d+: notify\.email\.attach: only a command task leaves files to attach .*this job's task is http: remove the list/);
});

test('APScheduler: day and day_of_week both restricted fire only when both match (its rule, not cron\'s)', async () => {
  const { nextFires } = await import('../../src/schedule/next.ts');
  const def = load({ 'first-monday.yaml': 'job_id: first-monday\nschedule: { type: cron, args: { day: "1-7", day_of_week: mon, hour: 9 } }\ntask: { type: command, command: [echo] }\n' }, 'first-monday.yaml');
  const fires = nextFires(def.schedule, Date.parse('2026-12-03T00:00:00Z'), 4).map((at) => new Date(at).toISOString());
  assert.deepEqual(fires, ['2026-12-07T09:00:00.000Z', '2027-01-04T09:00:00.000Z', '2027-02-01T09:00:00.000Z', '2027-03-01T09:00:00.000Z']);
  // The same rule in a jobsd file: days_match: both.
  const native = load({ 'n.yaml': 'schedule: { cron: "0 9 1-7 * MON", days_match: both }\ntask: { type: command, command: [echo] }\n' }, 'n.yaml');
  assert.deepEqual(nextFires(native.schedule, Date.parse('2026-12-03T00:00:00Z'), 2).map((at) => new Date(at).toISOString()), fires.slice(0, 2));
  // Cron's rule stays the default: either day field matching is enough (Thursday the 3rd is in 1-7).
  const either = load({ 'e.yaml': 'schedule: "0 9 1-7 * MON"\ntask: { type: command, command: [echo] }\n' }, 'e.yaml');
  assert.equal(new Date(nextFires(either.schedule, Date.parse('2026-12-03T00:00:00Z'), 1)[0]!).toISOString(), '2026-12-03T09:00:00.000Z');
  // A weekday of the month (MON#1) in the weekday field: the day of month is checked instead.
  const nth = load({ 'h.yaml': 'schedule: { cron: "0 9 1-3 * MON#1", days_match: both }\ntask: { type: command, command: [echo] }\n' }, 'h.yaml');
  assert.deepEqual(nextFires(nth.schedule, Date.parse('2026-12-03T00:00:00Z'), 2).map((at) => new Date(at).toISOString()), ['2027-02-01T09:00:00.000Z', '2027-03-01T09:00:00.000Z']);
  // Located errors: a value that is not either/both, days_match without cron, L and # in both day fields.
  const dir = directory({
    'v.yaml': 'schedule: { cron: "0 9 1-7 * MON", days_match: all }\ntask: { type: command, command: [echo] }\n',
    'w.yaml': 'schedule: { every: 1h, days_match: both }\ntask: { type: command, command: [echo] }\n',
    'x.yaml': 'schedule: { cron: "0 9 L * MON#1", days_match: both }\ntask: { type: command, command: [echo] }\n',
    'y.yaml': 'schedule: { cron: "0 0 30 2 MON", days_match: both }\ntask: { type: command, command: [echo] }\n',
    'z.yaml': 'schedule: { cron: "0 0 8-14 * 1#1", days_match: both }\ntask: { type: command, command: [echo] }\n',
  });
  const errors = loadDirectory(dir, base).errors.map(formatFileError).join('\n');
  assert.match(errors, /v\.yaml:1:\d+: schedule\.days_match: .*either/);
  assert.match(errors, /w\.yaml:1:\d+: schedule\.days_match: days_match applies to cron only/);
  assert.match(errors, /x\.yaml:1:\d+: schedule\.cron: days_match: both needs one day field without L, W or #/);
  assert.match(errors, /y\.yaml:1:\d+: schedule\.cron: "0 0 30 2 MON" with days_match: both never occurs/);
  assert.match(errors, /z\.yaml:1:\d+: schedule\.cron: "0 0 8-14 \* 1#1" with days_match: both never occurs/, 'the first Monday is never on the 8th to 14th');
  // Feb 29 on a Monday is rare, not never (2027-2028: next in 2044).
  const rare = load({ 'r.yaml': 'schedule: { cron: "0 0 29 2 MON", days_match: both }\ntask: { type: command, command: [echo] }\n' }, 'r.yaml');
  assert.equal(new Date(nextFires(rare.schedule, Date.parse('2026-12-03T00:00:00Z'), 1)[0]!).toISOString(), '2044-02-29T00:00:00.000Z');
});

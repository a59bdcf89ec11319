// Notifications through a real webhook receiver and a real SMTP server.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { eventsFor, Notifier } from '../../src/runs/notify.ts';
import { keepFiles } from '../../src/workers/output-files.ts';
import type { RunResult } from '../../src/workers/result.ts';
import { commandJob, memoryLogger } from '../helpers/definitions.ts';
import { pollUntil } from '../helpers/poll.ts';
import { useNotificationReceivers } from '../helpers/receivers.ts';

const receivers = useNotificationReceivers();

function result(status: RunResult['status'], output = 'line 1\nline 2\n'): RunResult {
  return {
    job_id: 'report', run_id: 'run-1', fire_time: '2026-11-27T01:00:00.000Z', attempt: 1, instance: 'host:1', status,
    message: status === 'succeeded' ? 'exit code 0' : 'exit code 3', started_at: '2026-11-27T01:00:00.010Z', completed_at: '2026-11-27T01:00:02.010Z',
    execution_time_seconds: 2, details: { exit_code: status === 'succeeded' ? 0 : 3, output_tail: output },
  };
}

describe('notification events', () => {
  const all = ['failure', 'recovery', 'missed', 'success'] as const;
  const cases: Array<[readonly (typeof all)[number][], string, string | undefined, string[]]> = [
    [['failure', 'recovery'], 'failed', 'succeeded', ['failure']],
    [['failure', 'recovery'], 'timed_out', undefined, ['failure']],
    [['failure', 'recovery'], 'partial', undefined, ['failure']],
    [['failure', 'recovery'], 'succeeded', 'failed', ['recovery']],
    [['failure', 'recovery'], 'succeeded', 'succeeded', []],
    [['failure', 'recovery'], 'cancelled', undefined, []],
    [all, 'succeeded', undefined, ['success']],
    [all, 'succeeded', 'timed_out', ['recovery']],
    [['success'], 'succeeded', 'failed', ['success']],
  ];
  for (const [on, status, previous, expected] of cases) {
    it(`${status} after ${previous ?? 'nothing'} with on: [${on.join(', ')}] → [${expected.join(', ')}]`, () => {
      assert.deepEqual(eventsFor(on, status, previous), expected);
    });
  }
});

describe('Notifier', () => {
  it('posts the webhook and mails the result with the output attached; a failing webhook is retried', async () => {
    const { logger, entries } = memoryLogger();
    const notifier = new Notifier({ logger, smtpUrl: receivers.smtp.url, previousState: async () => 'failed', retryDelaysMs: [10, 10, 10] });
    const def = commandJob({ id: 'report', description: 'Nightly report' });
    def.notify = { on: ['failure', 'recovery'], webhook: { url: receivers.hook.url, headers: { 'x-hook': 'yes' } }, email: { to: ['ops@example.com'], from: 'jobsd@example.com' } };
    receivers.hook.answers.push(503, 502);
    notifier.runEnded(def, result('failed'));
    notifier.runEnded(def, result('succeeded'));
    await pollUntil(() => receivers.hook.bodies.length === 2 && receivers.smtp.mails.length === 2, { timeoutMs: 10_000, what: 'two webhooks and two mails' });
    assert.equal(receivers.hook.requests, 4, 'the two 5xx answers were retried');
    const events = receivers.hook.bodies.map((b) => b.event).sort();
    assert.deepEqual(events, ['failure', 'recovery']);
    const failure = receivers.hook.bodies.find((b) => b.event === 'failure')!;
    assert.equal((failure.result as RunResult).status, 'failed');
    // The body is what the reference says it is (docs/job-file.md is generated from the schema).
    const schema = readFileSync(path.join(import.meta.dirname, '..', '..', 'schemas', 'job.schema.json'), 'utf8');
    const documented = /POSTs a JSON body `\{([^}]+)\}`/.exec(schema)![1]!.split(',').map((k) => k.trim());
    assert.deepEqual(Object.keys(failure).filter((k) => !k.startsWith('_')).sort(), documented.sort());
    assert.equal(failure.description, 'Nightly report');
    assert.equal((failure._headers as Record<string, string>)['x-hook'], 'yes');
    const mail = receivers.smtp.mails.find((m) => m.subject === '[jobsd] report: failed')!;
    assert.ok(mail, receivers.smtp.mails.map((m) => m.subject).join(', '));
    assert.match(mail.text ?? '', /Status: +failed: exit code 3/);
    assert.match(mail.text ?? '', /line 2/);
    assert.equal(mail.attachments.length, 1);
    assert.equal(mail.attachments[0]!.filename, 'report-2026-11-27T01-00-00-000Z.log');
    assert.equal(mail.attachments[0]!.content.toString(), 'line 1\nline 2\n');
    assert.ok(receivers.smtp.mails.some((m) => m.subject === '[jobsd] report: recovered'));
    const attempts = entries.filter((e) => String(e.msg).startsWith('notification sent (webhook')).reduce((n, e) => n + Number(e.attempts), 0);
    assert.equal(attempts, 4, 'two sends, two retries between them');
    await notifier.drain(1_000);
  });

  it('attaches the files the run left, all or the names listed (a name it did not leave is noted); the webhook gets the listing only', async () => {
    const { logger } = memoryLogger();
    const notifier = new Notifier({ logger, smtpUrl: receivers.smtp.url, previousState: async () => undefined, retryDelaysMs: [10] });
    const withFiles = (): RunResult => {
      const r = { ...result('succeeded'), job_id: 'files' };
      r.details = {
        ...r.details,
        output_files: [
          { name: 'big.csv', size: 2_000_000, content_type: 'text/csv', kept: false, reason: 'larger than 1048576 bytes' },
          { name: 'data.json', size: 7, content_type: 'application/json', kept: true },
          { name: 'report.csv', size: 8, content_type: 'text/csv', kept: true },
        ],
      };
      keepFiles(r, [
        { name: 'data.json', contentType: 'application/json', content: Buffer.from('{"x":1}') },
        { name: 'report.csv', contentType: 'text/csv', content: Buffer.from('a,b\n1,2\n') },
      ]);
      return r;
    };
    const listed = commandJob({ id: 'files-listed' });
    listed.notify = { on: ['success'], webhook: { url: receivers.hook.url, headers: {} }, email: { to: ['ops@example.com'], attach: ['report.csv', 'missing.csv', 'big.csv'] } };
    const all = commandJob({ id: 'files-all' });
    all.notify = { on: ['success'], email: { to: ['ops@example.com'], attach: true } };
    const none = commandJob({ id: 'files-none' });
    none.notify = { on: ['success'], email: { to: ['ops@example.com'] } };
    notifier.runEnded(listed, withFiles());
    notifier.runEnded(all, withFiles());
    notifier.runEnded(none, withFiles());
    const mailOf = (id: string) => receivers.smtp.mails.find((m) => m.subject === `[jobsd] ${id}: succeeded`);
    await pollUntil(() => ['files-listed', 'files-all', 'files-none'].every((id) => mailOf(id)) && receivers.hook.bodies.some((b) => b.job_id === 'files-listed'), { timeoutMs: 10_000, what: 'three mails and a webhook' });
    const names = (id: string) => mailOf(id)!.attachments.map((a) => `${a.filename} ${a.contentType}`);
    assert.deepEqual(names('files-listed'), ['files-listed-2026-11-27T01-00-00-000Z.log text/plain', 'report.csv text/csv']);
    assert.deepEqual(names('files-all'), ['files-all-2026-11-27T01-00-00-000Z.log text/plain', 'data.json application/json', 'report.csv text/csv']);
    assert.deepEqual(names('files-none'), ['files-none-2026-11-27T01-00-00-000Z.log text/plain']);
    assert.equal(mailOf('files-listed')!.attachments[1]!.content.toString(), 'a,b\n1,2\n');
    const text = mailOf('files-listed')!.text ?? '';
    assert.match(text, /report\.csv \(8 bytes, text\/csv\): attached/);
    assert.match(text, /data\.json \(7 bytes, application\/json\): not attached/);
    assert.match(text, /big\.csv \(2000000 bytes, text\/csv\): not attached: larger than 1048576 bytes/);
    assert.match(text, /missing\.csv: the run left no such file/);
    const hook = receivers.hook.bodies.find((b) => b.job_id === 'files-listed')!;
    assert.equal(((hook.result as RunResult).details.output_files as unknown[]).length, 3);
    assert.equal(JSON.stringify(hook).includes('a,b'), false, 'no contents in the webhook');
    await notifier.drain(1_000);
  });

  it('missed fires are announced with the fires this agent recorded', async () => {
    const { logger } = memoryLogger();
    const notifier = new Notifier({ logger, previousState: async () => undefined, retryDelaysMs: [10] });
    const def = commandJob({ id: 'nightly' });
    def.notify = { on: ['missed'], webhook: { url: receivers.hook.url, headers: {} } };
    const before = receivers.hook.bodies.length;
    notifier.missed(def, [Date.UTC(2026, 10, 26, 2), Date.UTC(2026, 10, 27, 2)]);
    notifier.missed(commandJob({ id: 'quiet' }), [Date.UTC(2026, 10, 27, 2)]); // no notify policy: nothing
    await notifier.drain(5_000);
    const sent = receivers.hook.bodies.slice(before);
    assert.equal(sent.length, 1);
    assert.equal(sent[0]!.event, 'missed');
    assert.deepEqual((sent[0]!.result as { fires: string[] }).fires, ['2026-11-26T02:00:00.000Z', '2026-11-27T02:00:00.000Z']);
  });

  it('a 4xx from the webhook is not retried, and nothing throws', async () => {
    const { logger, entries } = memoryLogger();
    const notifier = new Notifier({ logger, previousState: async () => undefined, retryDelaysMs: [10, 10, 10] });
    const def = commandJob({ id: 'strict' });
    def.notify = { on: ['failure'], webhook: { url: receivers.hook.url, headers: {} } };
    const before = receivers.hook.requests;
    receivers.hook.answers.push(400);
    notifier.runEnded(def, result('failed'));
    await notifier.drain(5_000);
    assert.equal(receivers.hook.requests - before, 1);
    assert.ok(entries.some((e) => e.msg === 'notification not sent (webhook, failure)' && /HTTP 400/.test(String(e.error))));
  });

  it('an unreachable webhook and a missing SMTP server only log: runEnded returns at once', async () => {
    const { logger, entries } = memoryLogger();
    const notifier = new Notifier({ logger, previousState: async () => undefined, retryDelaysMs: [10] });
    const def = commandJob({ id: 'nowhere' });
    def.notify = { on: ['failure'], webhook: { url: 'http://127.0.0.1:1/hook', headers: {} }, email: { to: ['ops@example.com'] } };
    const started = performance.now();
    notifier.runEnded(def, result('failed'));
    assert.ok(performance.now() - started < 500, 'the caller does not wait for sending (which takes retries here)');
    await notifier.drain(5_000);
    assert.ok(entries.some((e) => e.msg === 'notification not sent (webhook, failure)' && e.attempts === 2));
    assert.ok(entries.some((e) => /JOBSD_SMTP_URL is not set/.test(String(e.msg))));
  });
});

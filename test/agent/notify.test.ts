// Notifications from a running agent: `notify` set once in _defaults.yaml, a job that fails once then
// recovers, a webhook receiver and a real SMTP server.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { it } from 'node:test';
import { jobsDir, startAgent } from '../helpers/agent.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';
import { useNotificationReceivers } from '../helpers/receivers.ts';

const receivers = useNotificationReceivers();

it('a failure and the recovery after it reach the webhook and the mailbox; notify comes from _defaults', async (t) => {
  const url = await freshDatabase('notify');
  const marker = path.join(mkdtempSync(path.join(tmpdir(), 'jobsd-notify-')), 'ran-once');
  const dir = jobsDir({
    '_defaults.yaml': `notify:\n  on: [failure, recovery]\n  webhook: { url: "${receivers.hook.url}" }\n  email: { to: [ops@example.com] }\n`,
    'flaky.yaml': `schedule: every 2s\ntask: { type: command, command: "if [ -e ${marker} ]; then echo fine; else touch ${marker}; echo broken >&2; exit 3; fi" }\n`,
  });
  const agent = await startAgent({ name: 'notify-agent', jobsDir: dir, databaseUrl: url, env: { JOBSD_SMTP_URL: receivers.smtp.url } });
  t.after(() => agent.stop());
  await pollUntil(() => receivers.hook.bodies.length >= 2 && receivers.smtp.mails.length >= 2, { timeoutMs: 20_000, what: 'failure and recovery notifications' });
  assert.deepEqual(receivers.hook.bodies.slice(0, 2).map((b) => b.event), ['failure', 'recovery']);
  assert.equal((receivers.hook.bodies[0]!.result as { status: string }).status, 'failed');
  const subjects = receivers.smtp.mails.map((m) => m.subject);
  assert.deepEqual(subjects.slice(0, 2), ['[jobsd] flaky: failed', '[jobsd] flaky: recovered']);
  const failure = receivers.smtp.mails[0]!;
  assert.match(failure.text ?? '', /exit code 3/);
  assert.equal(failure.attachments[0]?.content.toString(), 'broken\n');
  // Later successes are not news.
  await pollUntil(() => agent.logs.filter((l) => l.msg === 'run succeeded' && l.job === 'flaky').length >= 3, { timeoutMs: 15_000, what: 'more runs' });
  assert.equal(receivers.hook.bodies.length, 2);
});

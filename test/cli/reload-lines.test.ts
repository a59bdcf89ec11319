// The log lines of a reload say what changed: the fields of a changed job (its schedule before and
// after), and that a file error was fixed or its file deleted.

import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { jobsDir, startAgent } from '../helpers/agent.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';

const BROKEN = 'schedule: { cron: "61 * * * *" }\ntask: { type: command, command: ["true"] }\n';

test('"job changed" names the changed fields and the schedule before and after; a fixed or deleted file error says so', async (t) => {
  const dir = jobsDir({
    'report.yaml': 'schedule: every 1h\ntask: { type: command, command: ["true"] }\n',
    'fixme.yaml': BROKEN,
    'dropme.yaml': BROKEN,
  });
  const agent = await startAgent({ name: 'reload-lines', jobsDir: dir, databaseUrl: await freshDatabase('reload_lines') });
  t.after(() => agent.stop('SIGKILL'));
  const line = (msg: string, file: string) => pollUntil(() => agent.logs.find((l) => l.msg === msg && String(l.file).endsWith(file)), { timeoutMs: 10_000, what: msg });

  writeFileSync(path.join(dir, 'report.yaml'), 'schedule: every 2h\ntimeout: 5m\ntask: { type: command, command: ["true"] }\n');
  const changed = await line('job changed', 'report.yaml');
  assert.deepEqual(changed.changed, ['schedule', 'timeoutMs']);
  assert.deepEqual((changed.schedule_before as { trigger: { intervalMs: number } }).trigger.intervalMs, 3_600_000);
  assert.deepEqual((changed.schedule_after as { trigger: { intervalMs: number } }).trigger.intervalMs, 7_200_000);

  writeFileSync(path.join(dir, 'fixme.yaml'), 'schedule: every 1h\ntask: { type: command, command: ["true"] }\n');
  await line('file error fixed: the file loads', 'fixme.yaml');
  rmSync(path.join(dir, 'dropme.yaml'));
  await line('file error cleared: the file is gone', 'dropme.yaml');
  assert.equal(await agent.stop(), 0);
});

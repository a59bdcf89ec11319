// jobsd status and agents that died: an instance whose heartbeat is overdue is shown stale, its file
// errors no longer count, and its row is dropped after a while; a clean stop removes its own row.

import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { jobsDir, startAgent } from '../helpers/agent.ts';
import { runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';

interface Status {
  instances: { name: string; stale: boolean }[];
  file_errors: { text: string }[];
}

/**
 * Stands for the time passing without a heartbeat of `name` (90 s and 10 min are too long to wait for in a
 * test): its last heartbeat is moved back by `seconds`.
 */
async function heartbeatAgo(url: string, name: string, seconds: number): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(`UPDATE jobsd.instances SET heartbeat_at = now() - make_interval(secs => $2) WHERE name = $1`, [name, seconds]);
  } finally {
    await client.end();
  }
}

test('a killed agent is shown stale, its file errors drop out, its row goes after 10 minutes; a clean stop removes its own', async (t) => {
  const url = await freshDatabase('stale_instances');
  const status = async () => {
    const result = await runCli(['status', '--json', '--database-url', url]);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as Status;
  };
  const killed = await startAgent({ name: 'killed', jobsDir: jobsDir({ 'broken.yaml': 'schedule: { cron: "61 * * * *" }\ntask: { type: command, command: ["true"] }\n' }), databaseUrl: url });
  t.after(() => killed.stop('SIGKILL'));
  assert.equal((await status()).file_errors.length, 1);
  await killed.stop('SIGKILL');
  const liveDir = jobsDir({ 'ok.yaml': 'schedule: every 1h\ntask: { type: command, command: ["true"] }\n' });
  const live = await startAgent({ name: 'live', jobsDir: liveDir, databaseUrl: url });
  t.after(() => live.stop('SIGKILL'));

  await heartbeatAgo(url, 'killed', 120);
  const stale = await status();
  assert.deepEqual(stale.instances.map((i) => [i.name, i.stale]), [['killed', true], ['live', false]]);
  assert.deepEqual(stale.file_errors, [], 'only live instances report file errors');
  const text = await runCli(['status', '--database-url', url]);
  assert.match(text.stdout, /^killed\s+all\s+0\s+12\ds ago \(stale: not running\?\)/m);

  await heartbeatAgo(url, 'killed', 11 * 60);
  writeFileSync(path.join(liveDir, 'other.yaml'), 'schedule: every 1h\ntask: { type: command, command: ["true"] }\n'); // the live agent's next heartbeat
  await pollUntil(async () => (await status()).instances.length === 1, { timeoutMs: 10_000, what: 'the dead row dropped' });
  assert.deepEqual((await status()).instances.map((i) => i.name), ['live']);
  assert.equal(await live.stop(), 0);
  assert.deepEqual((await status()).instances, [], 'a clean stop removes its row');
});

// PostgreSQL restarts under two running agents: both keep running, /readyz says not ready meanwhile,
// and every fire of the outage is handled by its job's catch-up policy.

import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freePort, startEmbeddedPostgres } from '../../src/db/embedded.ts';
import { jobsDir, ledger, startAgent } from '../helpers/agent.ts';
import { pollUntil } from '../helpers/poll.ts';

const quiet = { info: () => undefined, warn: () => undefined };
const job = (policy: string) => `schedule: { every: 1s, catchup: ${policy}, catchup_window: 1h }\noverlap: allow\ntask: { type: command, command: ["true"] }\n`;

test('a PostgreSQL restart: agents survive, are not ready meanwhile, and catch up every fire of the outage', async (t) => {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'jobsd-outage-'));
  const port = await freePort();
  let db = await startEmbeddedPostgres(dataDir, quiet, { port });
  t.after(() => db.stop());
  const dir = jobsDir({ 'o-all.yaml': job('all'), 'o-skip.yaml': job('skip') });
  const httpPort = await freePort();
  const a = await startAgent({ name: 'agent-a', jobsDir: dir, databaseUrl: db.url, args: ['--http', `127.0.0.1:${httpPort}`] });
  const b = await startAgent({ name: 'agent-b', jobsDir: dir, databaseUrl: db.url });
  t.after(async () => {
    await a.stop('SIGKILL');
    await b.stop('SIGKILL');
  });
  const readyz = async () => (await fetch(`http://127.0.0.1:${httpPort}/readyz`)).status;
  assert.equal(await readyz(), 200);
  await pollUntil(async () => (await ledger(db.url, 'o-all')).length >= 2, { timeoutMs: 10_000, what: 'fires before the outage' });

  await db.stop();
  const downAt = Date.now();
  await pollUntil(async () => (await readyz()) === 503, { timeoutMs: 10_000, what: '/readyz not ready' });
  await pollUntil(() => Date.now() > downAt + 5_000, { timeoutMs: 10_000, intervalMs: 100, what: 'five seconds of outage' });
  db = await startEmbeddedPostgres(dataDir, quiet, { port });
  const upAt = Date.now();
  await pollUntil(async () => (await readyz()) === 200, { timeoutMs: 20_000, intervalMs: 200, what: '/readyz ready again' });
  const recovered = Date.now() - upAt;

  const inOutage = <T extends { fire_time: Date }>(rows: T[]) => rows.filter((r) => r.fire_time.getTime() > downAt + 1000 && r.fire_time.getTime() < upAt - 1000);
  const expected = Math.floor((upAt - 1000) / 1000) - Math.floor((downAt + 1000) / 1000);
  await pollUntil(async () => inOutage(await ledger(db.url, 'o-all')).filter((r) => r.state === 'succeeded').length === expected, { timeoutMs: 20_000, what: `the ${expected} outage fires of o-all run` });
  const skip = inOutage(await ledger(db.url, 'o-skip'));
  assert.equal(skip.length, expected, 'every outage fire of o-skip is recorded');
  assert.ok(skip.every((r) => r.state === 'missed'), 'and none of them ran');
  assert.equal(a.child.exitCode, null, `agent-a is still running: ${a.stderr()}`);
  assert.equal(b.child.exitCode, null, `agent-b is still running: ${b.stderr()}`);
  const errors = [...a.logs, ...b.logs].filter((l) => Number(l.level) >= 50);
  assert.ok(!errors.some((l) => String(l.msg).startsWith('unhandled promise rejection')), JSON.stringify(errors));
  assert.ok(errors.length <= 8, `a few clear error lines, not a flood (${errors.length})`);
  assert.ok(a.logs.some((l) => String(l.msg).startsWith('database unreachable')));
  t.diagnostic(`outage ${upAt - downAt} ms, ${expected} fires per job in it, ready again ${recovered} ms after PostgreSQL was back, ${errors.length} error lines over both agents`);
  assert.equal(await a.stop(), 0);
  assert.equal(await b.stop(), 0);
});

// SIGTERM: stop firing, let active runs finish within the grace period, give the rest back to the
// queue so another replica runs them; exit 0. Also `jobsd run`, `history` and `list` against it.

import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { HOURLY, jobsDir, ledger, startAgent } from '../helpers/agent.ts';
import { pollUntil } from '../helpers/poll.ts';
import { tcpRelay } from '../helpers/tcp-relay.ts';
import { groupAlive, processAlive } from '../../src/workers/process-group.ts';

test('a run still active after the grace period is given back and finished by the other agent', async (t) => {
  const url = await freshDatabase('shutdown');
  // Retries left with a long delay: a given-back run must still be picked up at once.
  const dir = jobsDir({ 'long.yaml': `${HOURLY}\ntimeout: 1m\nretry: { attempts: 2, delay: 5m }\ntask: { type: command, command: ["sleep", "4"] }\n` });
  const a = await startAgent({ name: 'agent-a', jobsDir: dir, databaseUrl: url, args: ['--grace', '1'] });
  t.after(() => a.stop('SIGKILL'));
  const queued = await runCli(['run', 'long', '--json', '--jobs-dir', dir, '--database-url', url]);
  assert.equal(queued.code, 0, queued.stderr);
  await pollUntil(async () => (await ledger(url, 'long')).some((r) => r.state === 'running' && r.instance === 'agent-a'), { timeoutMs: 10_000, what: 'running on a' });
  const b = await startAgent({ name: 'agent-b', jobsDir: dir, databaseUrl: url, args: ['--role', 'worker'] });
  t.after(() => b.stop('SIGKILL'));
  assert.equal(await a.stop('SIGTERM'), 0, 'exit 0 after giving the run back');
  assert.ok(a.logs.some((l) => String(l.msg).startsWith('grace period over')));
  // The spawn helper that forked the command (README, "The spawn helper") ends with the agent.
  const helper = Number(a.logs.find((l) => l.msg === 'command started')?.spawn_helper);
  assert.ok(helper > 1, 'the command was forked by a spawn helper');
  await pollUntil(async () => !(await processAlive(helper)), { timeoutMs: 3_000, what: "agent-a's spawn helper to end with it" });
  const [row] = await pollUntil(async () => {
    const rows = await ledger(url, 'long');
    return rows[0]?.state === 'succeeded' ? rows : undefined;
  }, { timeoutMs: 15_000, intervalMs: 250, what: 'the given-back run finished on agent-b' });
  assert.equal(row!.instance, 'agent-b');
  assert.equal(row!.attempts, 2);

  const history = await runCli(['history', 'long', '--json', '--database-url', url]);
  assert.equal(history.code, 0, history.stderr);
  const fires = JSON.parse(history.stdout) as { state: string; manual: boolean; result: { status: string } }[];
  assert.deepEqual(fires.map((f) => [f.state, f.manual, f.result.status]), [['succeeded', true, 'succeeded']]);
  const list = await runCli(['list', '--json', '--jobs-dir', dir, '--database-url', url]);
  const jobs = (JSON.parse(list.stdout) as { jobs: { id: string; last_state: string; next_fire: string }[] }).jobs;
  assert.equal(jobs[0]?.id, 'long');
  assert.equal(jobs[0]?.last_state, 'succeeded');
  assert.match(jobs[0]!.next_fire, /:00\.000Z$/);
  assert.equal(await b.stop(), 0);
});

test('SIGTERM while the database does not answer: the agent exits non-zero with one line saying why', { timeout: 90_000 }, async (t) => {
  const relay = await tcpRelay(await freshDatabase('shutdown_silent'));
  t.after(() => relay.close());
  const dir = jobsDir({ 'hourly.yaml': `${HOURLY}\ntask: { type: command, command: ["true"] }\n` });
  const agent = await startAgent({ name: 'silent', jobsDir: dir, databaseUrl: relay.url });
  t.after(() => agent.stop('SIGKILL'));
  relay.state.silent = true;
  const stopping = agent.logs.length;
  const started = Date.now();
  assert.equal(await agent.stop('SIGTERM'), 1);
  const seconds = (Date.now() - started) / 1000;
  const lines = agent.logs.slice(stopping);
  const problems = lines.filter((l) => (l.level as number) >= 40);
  const seen = JSON.stringify(lines.map((l) => [l.time, l.msg, (l.err as { message?: string } | undefined)?.message]));
  assert.equal(problems.length, 1, seen);
  assert.match(String(problems[0]!.msg), /^jobsd stopped, but the database did not answer \(.+\)/, seen);
  assert.equal(agent.stderr(), '');
  assert.ok(seconds < 12, `stopped in ${seconds} s: ${seen}`);
});

test('a second SIGTERM during the drain stops now: the run is killed, given back, one line, non-zero within 2 s', async (t) => {
  const url = await freshDatabase('shutdown_second');
  const work = mkdtempSync(path.join(tmpdir(), 'jobsd-second-signal-'));
  const pidFile = path.join(work, 'pid');
  // A command that ignores SIGTERM (and so does its sleep): only a kill ends it.
  const dir = jobsDir({
    'stubborn.yaml': `${HOURLY}\ntask: { type: command, command: ["sh", "-c", "trap '' TERM; echo $$$$ > ${pidFile}; sleep 60"] }\n`,
  });
  const agent = await startAgent({ name: 'second-signal', jobsDir: dir, databaseUrl: url, args: ['--grace', '30'] });
  t.after(() => agent.stop('SIGKILL'));
  const queued = await runCli(['run', 'stubborn', '--jobs-dir', dir, '--database-url', url]);
  assert.equal(queued.code, 0, queued.stderr);
  await pollUntil(() => existsSync(pidFile) && readFileSync(pidFile, 'utf8').trim() !== '', { timeoutMs: 10_000, what: 'the command started' });
  const group = Number(readFileSync(pidFile, 'utf8'));
  agent.child.kill('SIGTERM');
  await pollUntil(() => agent.logs.some((l) => l.msg === 'waiting for active runs to finish'), { timeoutMs: 5_000, what: 'the drain waits for the run' });
  const from = agent.logs.length;
  const started = Date.now();
  agent.child.kill('SIGTERM');
  const code = await agent.exited;
  const ms = Date.now() - started;
  assert.notEqual(code, 0);
  assert.notEqual(code, null, 'exited, not killed by the signal');
  assert.ok(ms < 2_000, `exited after ${ms} ms`);
  const lines = agent.logs.slice(from);
  const seen = JSON.stringify(lines.map((l) => [l.time, l.msg]));
  assert.equal(lines.filter((l) => /second signal/.test(String(l.msg))).length, 1, seen);
  assert.ok(lines.some((l) => l.msg === 'jobsd stopped'), seen);
  assert.ok(Number.isInteger(group) && group > 1);
  assert.equal(await groupAlive(group), false, 'the process group was killed');
  const [row] = await ledger(url, 'stubborn');
  assert.ok(row!.state === 'queued' || row!.state === 'cancelled', `ledger state ${row!.state}`);
});

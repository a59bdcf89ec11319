// The agent that dispatches the ticker's fires (src/queue/dispatch-lease.ts) stops: SIGSTOP, SIGKILL, or
// cut off from PostgreSQL by its relay. It is a `--role scheduler` agent, so that only its dispatching
// stops (no run of its own is held up); two worker agents run the commands. Every fire of the job, every
// second, must run once, within about a second of its time, whoever enqueues it: read from the commands'
// own marks (one start and one end per fire second, no gap).

import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { pollUntil } from '../helpers/poll.ts';
import { markingJob, startCluster, type Cluster, type ClusterAgent } from './cluster.ts';
import { completedTwice, executions } from './checker.ts';

/** The fires of the marks in [fromMs, toMs): each second's execution, and the seconds with none or several. */
function perSecond(cluster: Cluster, fromMs: number, toMs: number) {
  const runs = executions(cluster.marks()).filter((r) => Date.parse(r.fire) >= fromMs && Date.parse(r.fire) < toMs);
  const missing: string[] = [];
  const several: string[] = [];
  for (let s = fromMs; s < toMs; s += 1_000) {
    const n = runs.filter((r) => Date.parse(r.fire) === s).length;
    if (n === 0) missing.push(new Date(s).toISOString());
    if (n > 1) several.push(new Date(s).toISOString());
  }
  const lateness = runs.map((r) => r.startMs - Date.parse(r.fire));
  return { runs, missing, several, maxLatenessMs: Math.max(...lateness) };
}

async function takeover(t: TestContext, fault: (a: ClusterAgent) => void, heal: (a: ClusterAgent) => void) {
  const cluster = await startCluster(t, (marks) => ({ 'tick.yaml': markingJob(marks, 0, 'schedule: every 1s\noverlap: allow') }));
  // The first agent on the database dispatches the fires.
  const a = await cluster.startAgent('agent-a', ['--role', 'scheduler']);
  await cluster.startAgent('agent-b', ['--role', 'worker']);
  await cluster.startAgent('agent-c');
  await pollUntil(() => executions(cluster.marks()).filter((r) => r.ended).length >= 3, { timeoutMs: 30_000, what: 'three runs' });
  const from = Math.ceil(Date.now() / 1_000) * 1_000 + 1_000;
  await sleep(from + 2_000 - Date.now());
  const faultAt = Date.now();
  fault(a);
  // Another agent says it dispatches the fires now (agent-c: the only other one that dispatches).
  const c = cluster.agents.get('agent-c')!;
  const tookOver = await pollUntil(() => c.logs.find((l) => l.msg === 'this agent dispatches the fires now' && Date.parse(String(l.time)) >= faultAt), { timeoutMs: 10_000, what: 'agent-c to take over' });
  const tookOverMs = Date.parse(String(tookOver.time)) - faultAt;
  // Until the fault, agent-a dispatched every fire: agent-c enqueued none itself.
  const before = c.logs.filter((l) => String(l.msg).startsWith('fires not confirmed') && Date.parse(String(l.time)) < faultAt);
  assert.deepEqual(before.map((l) => `${new Date(Date.parse(String(l.time))).toISOString()} ${String(l.msg)}`), [], 'agent-c enqueued no fire before the fault');
  await sleep(4_000);
  heal(a);
  await sleep(3_000);
  const to = Math.floor(Date.now() / 1_000) * 1_000 - 1_000;
  await pollUntil(() => perSecond(cluster, from, to).runs.every((r) => r.ended) || undefined, { timeoutMs: 10_000, what: 'the window\'s runs to end' });
  const { runs, missing, several, maxLatenessMs } = perSecond(cluster, from, to);
  assert.deepEqual(missing, [], 'no fire of the window missed');
  assert.deepEqual(several, [], 'no fire of the window run twice');
  assert.deepEqual(completedTwice(cluster.marks()), []);
  assert.ok(maxLatenessMs < 1_000, `every fire started within a second of its time (the latest: ${maxLatenessMs} ms)`);
  assert.ok(tookOverMs < 2_500, `taken over ${tookOverMs} ms after the fault`);
  t.diagnostic(`${runs.length} fires, taken over (logged) ${tookOverMs} ms after the fault, latest start ${maxLatenessMs} ms after its fire time`);
}

test('a SIGSTOPped dispatcher is taken over within about a second: no fire missed, none run twice', async (t) => {
  await takeover(
    t,
    (a) => a.child.kill('SIGSTOP'),
    (a) => a.child.kill('SIGCONT'),
  );
});

test('a SIGKILLed dispatcher is taken over within about a second: no fire missed, none run twice', async (t) => {
  await takeover(
    t,
    (a) => a.child.kill('SIGKILL'),
    () => undefined,
  );
});

test('a dispatcher cut off from the database is taken over within about a second: no fire missed, none run twice', async (t) => {
  await takeover(
    t,
    (a) => (a.relay.state.silent = true),
    (a) => (a.relay.state.silent = false),
  );
});

// Failover: how long after a fault another agent starts the run, and what a PostgreSQL restart costs.
// Real agents (the CLI) on a PostgreSQL of their own, through TCP relays; the commands write their own
// marks (test/faults/cluster.ts), and every figure is read from those marks.
//  - SIGKILL of the agent running a long command: time to the retry's start mark on the other agent.
//  - a partition (the relay stops forwarding without closing): time to the next run's start elsewhere.
//  - a 10 s PostgreSQL restart under 6 running commands: how many were killed or ran twice (target 0).
//  - SIGSTOP of the agent that dispatches the fires (src/queue/dispatch-lease.ts), a job every second: when
//    another agent took its place, and how late the fires around it started.
import { setTimeout as sleep } from 'node:timers/promises';
import { runCli } from '../test/helpers/cli.ts';
import { awaitMark, markingJob, startCluster, type Cluster } from '../test/faults/cluster.ts';
import { executions } from '../test/faults/checker.ts';
import type { Benchmark } from './run.ts';

type Cleanup = () => unknown;

async function withCluster<T>(jobs: (marks: string) => Record<string, string>, body: (c: Cluster) => Promise<T>): Promise<T> {
  const cleanups: Cleanup[] = [];
  const cluster = await startCluster({ after: (fn: Cleanup) => void cleanups.push(fn) } as never, jobs);
  try {
    return await body(cluster);
  } finally {
    for (const fn of cleanups.reverse()) await fn();
  }
}

async function killTakeover(lease: string): Promise<number> {
  return withCluster((m) => ({ 'long.yaml': markingJob(m, 120, `schedule: every 1h\nlease: ${lease}\nretry: { attempts: 1, delay: 1s }`) }), async (c) => {
    const a = await c.startAgent('agent-a', ['--role', 'worker']);
    await runCli(['run', 'long', '--jobs-dir', c.dir, '--database-url', c.url]);
    await awaitMark(c, (m) => m.kind === 'start', 'the run on agent-a');
    await c.startAgent('agent-b');
    const killedAt = Date.now();
    a.child.kill('SIGKILL');
    const retry = await awaitMark(c, (m) => m.kind === 'start' && m.instance === 'agent-b', 'the retry', 180_000);
    return retry.ms - killedAt;
  });
}

async function partitionTakeover(lease: string): Promise<{ takeoverMs: number; gapMs: number }> {
  return withCluster((m) => ({ 'cut.yaml': markingJob(m, 120, `schedule: every 1s\noverlap: skip\nlease: ${lease}`) }), async (c) => {
    const a = await c.startAgent('agent-a');
    const first = await awaitMark(c, (m) => m.kind === 'start' && m.instance === 'agent-a', 'a run on agent-a');
    await c.startAgent('agent-b');
    a.relay.state.silent = true;
    const cutAt = Date.now();
    const next = await awaitMark(c, (m) => m.kind === 'start' && m.instance === 'agent-b', 'the next run on agent-b', 180_000);
    const stopped = executions(c.marks()).find((r) => r.instance === 'agent-a' && r.fire === first.fire)!;
    return { takeoverMs: next.ms - cutAt, gapMs: next.ms - stopped.lastMs };
  });
}

async function restartCost(): Promise<{ runs: number; killed: number; twice: number }> {
  const jobs = (m: string) => Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`r${i}.yaml`, markingJob(m, 20, 'schedule: every 1h\nretry: { attempts: 2, delay: 1s }')]));
  return withCluster(jobs, async (c) => {
    for (const name of ['agent-a', 'agent-b', 'agent-c']) await c.startAgent(name);
    for (let i = 0; i < 6; i++) await runCli(['run', `r${i}`, '--jobs-dir', c.dir, '--database-url', c.url]);
    await awaitMark(c, () => executions(c.marks()).length === 6, 'six runs', 30_000);
    await c.stopDatabase();
    await sleep(10_000);
    await c.startDatabase();
    await awaitMark(c, () => executions(c.marks()).filter((r) => r.ended).length >= 6, 'six ends', 120_000);
    await sleep(45_000); // a failover, were there one, would come within lease + margin + a queue check
    const runs = executions(c.marks());
    return { runs: runs.length, killed: runs.filter((r) => !r.ended).length, twice: runs.length - new Set(runs.map((r) => r.job)).size };
  });
}

async function dispatcherStop(): Promise<{ takeoverMs: number; latestMs: number; missed: number; twice: number; fires: number }> {
  return withCluster((m) => ({ 'tick.yaml': markingJob(m, 0, 'schedule: every 1s\noverlap: allow') }), async (c) => {
    const a = await c.startAgent('agent-a', ['--role', 'scheduler']);
    await c.startAgent('agent-b', ['--role', 'worker']);
    const other = await c.startAgent('agent-c');
    await awaitMark(c, () => executions(c.marks()).filter((r) => r.ended).length >= 3, 'three runs', 30_000);
    const from = Math.ceil(Date.now() / 1000) * 1000 + 1000;
    await sleep(from + 2_000 - Date.now());
    const stoppedAt = Date.now();
    a.child.kill('SIGSTOP');
    await sleep(5_000);
    a.child.kill('SIGCONT');
    await sleep(3_000);
    const to = Math.floor(Date.now() / 1000) * 1000 - 1000;
    await sleep(1_000);
    const took = other.logs.find((l) => l.msg === 'this agent dispatches the fires now' && Date.parse(String(l.time)) >= stoppedAt);
    const runs = executions(c.marks()).filter((r) => Date.parse(r.fire) >= from && Date.parse(r.fire) < to);
    const seconds = (to - from) / 1000;
    const distinct = new Set(runs.map((r) => r.fire)).size;
    return {
      takeoverMs: took ? Date.parse(String(took.time)) - stoppedAt : NaN,
      latestMs: Math.max(...runs.map((r) => r.startMs - Date.parse(r.fire))),
      missed: seconds - distinct,
      twice: runs.length - distinct,
      fires: seconds,
    };
  });
}

const stats = (xs: number[]) => {
  const sorted = [...xs].sort((a, b) => a - b);
  const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
  return `p50 ${s(sorted[Math.floor((sorted.length - 1) / 2)]!)}, max ${s(sorted.at(-1)!)} (${xs.length} tries)`;
};

export const failoverBenchmark: Benchmark = {
  name: 'failover',
  title: 'Failover: takeover times and the cost of a PostgreSQL restart',
  async run({ quick }) {
    const tries = quick ? 1 : 3;
    const rows: string[] = [];
    for (const lease of ['30s', '10s']) {
      const kills: number[] = [];
      const cuts: number[] = [];
      const gaps: number[] = [];
      for (let i = 0; i < tries; i++) {
        kills.push(await killTakeover(lease));
        const p = await partitionTakeover(lease);
        cuts.push(p.takeoverMs);
        gaps.push(p.gapMs);
      }
      rows.push(`| \`lease: ${lease}\`${lease === '30s' ? ' (default)' : ''} | ${stats(kills)} | ${stats(cuts)} | ${(Math.min(...gaps) / 1000).toFixed(1)} s |`);
    }
    const restart = await restartCost();
    const stops = [];
    for (let i = 0; i < tries; i++) stops.push(await dispatcherStop());
    return [
      'Two agents (`--role worker` for the one killed, so that the other runs the retry); command jobs that write their own start marks; times from the fault to the start mark of the run on the other agent. The queue check runs every 15 s, so a takeover comes between lease + margin and that plus 15 s.',
      '',
      '| lease | SIGKILL → retry started elsewhere | partition → next run started elsewhere | smallest gap between the cut-off run\'s last mark and the next start |',
      '| --- | --- | --- | --- |',
      ...rows,
      '',
      `A 10 s PostgreSQL restart (fast shutdown) under 6 running 20 s commands on 3 agents, default lease: **${restart.killed} killed, ${restart.twice} run twice** (${restart.runs} executions for 6 fires).`,
      '',
      'The agent that dispatches the fires (a `--role scheduler` agent, with a worker and an agent of each role beside it) SIGSTOPped for 5 s,',
      'a command job every second; the takeover is the other agent\'s log line saying it dispatches the fires now, the lateness each',
      "fire's start mark minus its fire time, over the fires from 2 s before the stop to 2 s after the SIGCONT:",
      '',
      '| try | SIGSTOP → another agent dispatches | latest start after its fire time | fires | missed | run twice |',
      '| ---: | ---: | ---: | ---: | ---: | ---: |',
      ...stops.map((r, i) => `| ${i + 1} | ${Math.round(r.takeoverMs)} ms | ${Math.round(r.latestMs)} ms | ${r.fires} | ${r.missed} | ${r.twice} |`),
    ].join('\n');
  },
};

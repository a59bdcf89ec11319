// The agent metrics: a removed job leaves no series behind; the process metrics are prom-client's, with
// the event-loop delay sampled only once the metrics are read.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { registerProcessMetrics } from '../../src/runs/event-loop-delay.ts';
import type { Schedule } from '../../src/definitions/types.ts';
import { AgentMetrics } from '../../src/runs/metrics.ts';

it('forget() drops every series of a removed job, histograms and counters included', async () => {
  const metrics = new AgentMetrics({ version: 't', instance: 'i', fileErrors: () => 0, nextFires: () => new Map(), queueDepths: async () => [], jobIds: () => [], schedules: () => [], pausedJobs: async () => new Set<string>() });
  for (const job of ['gone', 'kept']) {
    metrics.fire(job, 'queued');
    metrics.fire(job, 'succeeded');
    metrics.runStarted(job, 12);
    metrics.runEnded(job, 'succeeded', 0.5, Date.now());
    metrics.runEnded(job, 'failed', 0.2, Date.now());
  }
  assert.match(await metrics.text(), /job="gone"/);
  await metrics.forget('gone');
  const text = await metrics.text();
  assert.doesNotMatch(text, /job="gone"/);
  assert.match(text, /jobsd_fires_total\{job="kept",state="succeeded"\} 1/);
  assert.match(text, /jobsd_run_duration_seconds_count\{job="kept",status="failed"\} 1/);
});

it("serves prom-client's process metrics, the event-loop delay sampled once /metrics is read", async () => {
  const families = (text: string) => [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]).sort();
  const registry = new Registry();
  registerProcessMetrics(registry, 'x_', 10);
  const first = await registry.metrics();
  const reference = new Registry();
  collectDefaultMetrics({ register: reference, prefix: 'x_' });
  assert.deepEqual(families(first), families(await reference.metrics()), "the same metric families as prom-client's defaults");

  // The sampler runs from the first scrape (its first tick only starts the clock): a 60 ms stall of the
  // event loop after that shows in the next scrape.
  await sleep(50);
  const until = Date.now() + 60;
  while (Date.now() < until); // the stall
  await sleep(30);
  const second = await registry.metrics();
  const gauge = (name: string) => Number(new RegExp(`^x_nodejs_eventloop_lag_${name}_seconds (\\S+)$`, 'm').exec(second)?.[1]);
  assert.ok(gauge('max') >= 0.04 && gauge('max') < 0.2, `max event-loop delay ${gauge('max')} s`);
  // The delay itself, not the time between two samples (the resolution, 10 ms here, plus the delay).
  assert.ok(gauge('min') < 0.005, `min event-loop delay ${gauge('min')} s`);
});

it('exports each scheduled job period, none for one-time jobs, and the oldest waiting run per queue', async () => {
  const base = { timezone: 'UTC', jitterMs: 0, catchup: 'skip', catchupWindowMs: 3_600_000 } as const;
  const metrics = new AgentMetrics({
    version: 't', instance: 'i', fileErrors: () => 0, nextFires: () => new Map(), jobIds: () => [], pausedJobs: async () => new Set<string>(),
    queueDepths: async () => [{ name: 'jobsd-skip', queued: 1, retry: 0, active: 0, oldestWaitingSeconds: 42.5 }],
    schedules: () => [
      ['tick', { ...base, trigger: { kind: 'every', intervalMs: 30_000, anchorMs: 0 } }],
      ['hourly', { ...base, trigger: { kind: 'cron', expression: '0 * * * *', source: '0 * * * *' } }],
      ['setup', { ...base, trigger: { kind: 'once' } }],
    ],
  });
  const text = await metrics.text();
  assert.match(text, /^jobsd_job_period_seconds\{job="tick"\} 30$/m);
  assert.match(text, /^jobsd_job_period_seconds\{job="hourly"\} 3600$/m);
  assert.doesNotMatch(text, /job="setup"/);
  assert.match(text, /^jobsd_queue_oldest_waiting_seconds\{queue="jobsd-skip"\} 42\.5$/m);
  assert.match(text, /^jobsd_queue_depth\{queue="jobsd-skip",state="queued"\} 1$/m);
});

it('computes periods within a budget per scrape, and gets further at every scrape', async () => {
  const base = { timezone: 'UTC', jitterMs: 0, catchup: 'skip', catchupWindowMs: 3_600_000 } as const;
  const schedules: Array<[string, Schedule]> = ['5', '10', '15'].map((m) => [`job-${m}`, { ...base, trigger: { kind: 'cron', expression: `${m} 3 * * *`, source: `${m} 3 * * *` } }]);
  const metrics = new AgentMetrics(
    { version: 't', instance: 'i', fileErrors: () => 0, nextFires: () => new Map(), queueDepths: async () => [], jobIds: () => [], pausedJobs: async () => new Set<string>(), schedules: () => schedules },
    { periodBudgetMs: 0 },
  );
  const count = async () => [...(await metrics.text()).matchAll(/^jobsd_job_period_seconds\{job="job-\d+"\} 86400$/gm)].length;
  assert.deepEqual([await count(), await count(), await count(), await count()], [1, 2, 3, 3]);
});

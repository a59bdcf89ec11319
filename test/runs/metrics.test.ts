// The agent metrics: a removed job leaves no series behind.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { AgentMetrics } from '../../src/runs/metrics.ts';

it('forget() drops every series of a removed job, histograms and counters included', async () => {
  const metrics = new AgentMetrics({ version: 't', instance: 'i', fileErrors: () => 0, nextFires: () => new Map(), queueDepths: async () => [] });
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

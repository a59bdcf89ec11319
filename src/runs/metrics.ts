// The agent's Prometheus metrics (prom-client), served at /metrics. Labels are bounded: job ids, states,
// queue names; never run ids. Each replica counts what it did itself; sum across instances in PromQL.
import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { Schedule } from '../definitions/types.ts';
import type { QueueDepth } from '../queue/depth.ts';
import { PeriodCache } from '../schedule/period.ts';
import { logLinesDropped } from '../log-writer.ts';
import { registerProcessMetrics } from './event-loop-delay.ts';

export interface MetricsSources {
  /** Files in error right now. */
  fileErrors: () => number;
  /** The next fire (ms since the epoch, nominal) of every scheduled job. */
  nextFires: () => Map<string, number>;
  /** Queue depth; may fail (the database is unreachable), the gauge then keeps its last values. */
  queueDepths: () => Promise<QueueDepth[]>;
  /** The jobs defined here, and of them the ones paused now (shared by every replica); may fail, as queueDepths. */
  jobIds: () => string[];
  /** The schedule of every enabled job, for jobsd_job_period_seconds. */
  schedules: () => Array<[string, Schedule]>;
  pausedJobs: () => Promise<Set<string>>;
  version: string;
  instance: string;
}

const DURATION_BUCKETS = [0.05, 0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600];
const LATENESS_BUCKETS = [0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 60];
/** What one scrape spends at most on computing periods (the rest come in the next scrapes), and per slice of it. */
const PERIOD_BUDGET_MS = 2_000;
const PERIOD_SLICE_MS = 10;

export class AgentMetrics {
  readonly registry = new Registry();
  private readonly fires: Counter<'job' | 'state'>;
  private readonly duration: Histogram<'job' | 'status'>;
  private readonly lateness: Histogram<'job'>;
  private readonly lastSuccess: Gauge<'job'>;
  private readonly known = new Set<string>();

  /** `periodBudgetMs`: what one scrape spends at most on computing periods (tests make it 0: one per scrape). */
  constructor(sources: MetricsSources, { periodBudgetMs = PERIOD_BUDGET_MS }: { periodBudgetMs?: number } = {}) {
    const registers = [this.registry];
    // prom-client's process metrics; the event-loop delay is sampled only while /metrics is read
    // (src/runs/event-loop-delay.ts). Fire lateness has its own histogram.
    registerProcessMetrics(this.registry, 'jobsd_process_');
    new Gauge({ name: 'jobsd_up', help: '1 while the agent runs.', registers }).set(1);
    new Gauge({ name: 'jobsd_build_info', help: 'The agent version and instance name.', labelNames: ['version', 'instance'], registers })
      .labels(sources.version, sources.instance)
      .set(1);
    this.fires = new Counter({ name: 'jobsd_fires_total', help: 'Fires handled by this agent, by job and final state (queued, skipped, missed, and each run outcome).', labelNames: ['job', 'state'], registers });
    this.duration = new Histogram({ name: 'jobsd_run_duration_seconds', help: 'Duration of each run attempt.', labelNames: ['job', 'status'], buckets: DURATION_BUCKETS, registers });
    this.lateness = new Histogram({ name: 'jobsd_fire_lateness_seconds', help: 'Run start minus the fire time (jitter and queueing included).', labelNames: ['job'], buckets: LATENESS_BUCKETS, registers });
    this.lastSuccess = new Gauge({ name: 'jobsd_last_success_timestamp_seconds', help: 'When the last successful run of the job on this agent ended.', labelNames: ['job'], registers });
    const logDropped = new Counter({
      name: 'jobsd_log_lines_dropped_total',
      help: "Log lines the agent dropped: its log's reader lagged more than 4 MiB behind, or a write failed (a full disk).",
      registers,
      collect() {
        logDropped.reset();
        logDropped.inc(logLinesDropped());
      },
    });
    const nextFire = new Gauge({
      name: 'jobsd_next_fire_timestamp_seconds',
      help: 'The next fire of each scheduled job (nominal time, before jitter).',
      labelNames: ['job'],
      registers,
      collect() {
        nextFire.reset();
        for (const [job, ms] of sources.nextFires()) nextFire.labels(job).set(ms / 1000);
      },
    });
    new Gauge({
      name: 'jobsd_file_errors',
      help: 'Job files that fail to load (their last good version, if any, keeps running).',
      registers,
      collect() {
        this.set(sources.fileErrors());
      },
    });
    const periods = new PeriodCache();
    const period = new Gauge({
      name: 'jobsd_job_period_seconds',
      help: 'How long the job may go between two successes while healthy: its interval, or for a cron the largest gap among its last two fires and the next (src/schedule/period.ts). None for one-time and chained jobs.',
      labelNames: ['job'],
      registers,
      async collect() {
        // Computed in slices that give the event loop back; past the budget (one at least, so that every
        // scrape gets further), the last value known or none: the next scrapes compute the rest.
        const start = performance.now();
        let sliceEnd = start + PERIOD_SLICE_MS;
        let computed = 0;
        const values: Array<[string, number]> = [];
        for (const [job, schedule] of sources.schedules()) {
          let ms: number | undefined;
          if (periods.fresh(schedule, Date.now())) ms = periods.periodMs(schedule, Date.now());
          else if (computed > 0 && performance.now() - start >= periodBudgetMs) ms = periods.last(schedule);
          else {
            if (performance.now() > sliceEnd) {
              await yieldToLoop();
              sliceEnd = performance.now() + PERIOD_SLICE_MS;
            }
            ms = periods.periodMs(schedule, Date.now());
            computed++;
          }
          if (ms !== undefined) values.push([job, ms / 1000]);
        }
        period.reset();
        for (const [job, seconds] of values) period.labels(job).set(seconds);
      },
    });
    const paused = new Gauge({
      name: 'jobsd_job_paused',
      help: '1 while the job is paused (jobsd pause, the API, pause_after_failures), else 0.',
      labelNames: ['job'],
      registers,
      async collect() {
        const now = await sources.pausedJobs().catch(() => undefined);
        if (!now) return;
        paused.reset();
        for (const job of sources.jobIds()) paused.labels(job).set(now.has(job) ? 1 : 0);
      },
    });
    // One query for both gauges of a scrape: prom-client collects every metric at once.
    let pending: Promise<QueueDepth[] | undefined> | undefined;
    const depthsOfThisScrape = () =>
      (pending ??= sources
        .queueDepths()
        .catch(() => undefined)
        .finally(() => (pending = undefined)));
    const waiting = new Gauge({
      name: 'jobsd_queue_oldest_waiting_seconds',
      help: 'How long the oldest run that could start (its start time has come, nothing holds its job) has waited in each pg-boss queue; 0 when none waits.',
      labelNames: ['queue'],
      registers,
      async collect() {
        for (const d of (await depthsOfThisScrape()) ?? []) waiting.labels(d.name).set(d.oldestWaitingSeconds);
      },
    });
    const depth = new Gauge({
      name: 'jobsd_queue_depth',
      help: 'Jobs in each pg-boss queue by state (queued, retry, active).',
      labelNames: ['queue', 'state'],
      registers,
      async collect() {
        for (const d of (await depthsOfThisScrape()) ?? []) {
          depth.labels(d.name, 'queued').set(d.queued);
          depth.labels(d.name, 'retry').set(d.retry);
          depth.labels(d.name, 'active').set(d.active);
        }
      },
    });
  }

  /** A fire's outcome as this agent saw it: queued, skipped, missed, or a run's final status. */
  fire(job: string, state: string): void {
    this.known.add(job);
    this.fires.labels(job, state).inc();
  }

  runStarted(job: string, latenessMs: number): void {
    this.known.add(job);
    this.lateness.labels(job).observe(Math.max(0, latenessMs) / 1000);
  }

  runEnded(job: string, status: string, seconds: number, endedMs: number): void {
    this.known.add(job);
    this.duration.labels(job, status).observe(seconds);
    if (status === 'succeeded') this.lastSuccess.labels(job).set(endedMs / 1000);
  }

  /** Drops a removed job's series, so that label sets do not pile up as jobs come and go. */
  async forget(job: string): Promise<void> {
    if (!this.known.delete(job)) return;
    for (const metric of [this.fires, this.duration, this.lateness, this.lastSuccess] as Array<Counter<string>>) {
      const { values } = await metric.get();
      const labelSets = new Map<string, Record<string, string | number>>();
      for (const v of values) {
        if (v.labels.job !== job) continue;
        // Histograms report buckets with an extra `le` label; the series is identified without it.
        const { le: _le, ...labels } = v.labels;
        labelSets.set(JSON.stringify(labels), labels as Record<string, string | number>);
      }
      for (const labels of labelSets.values()) metric.remove(labels);
    }
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }
}

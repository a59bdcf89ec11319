// The process metrics of /metrics: prom-client's defaults, except its event-loop delay monitor, which is
// replaced by one that samples only while the metrics are being read.
//
// prom-client's monitor (perf_hooks.monitorEventLoopDelay) is a timer that wakes the process at its
// resolution for as long as it lives: every 10 ms by default, which was most of an idle agent's CPU, and
// every 5 s with the resolution jobsd set, still 12 wake-ups a minute of an agent that nobody scrapes
// (in this VM a wake-up costs 0.1–0.5 ms of CPU). This one starts at the first scrape and stops when no
// scrape has come for IDLE_STOP_MS; the metric names and meanings are prom-client's. Unlike
// prom-client's, the figures are the delay itself: Node's monitor records the time between two ticks
// of its timer, which is the resolution plus the delay (with prom-client's 10 ms, an idle process showed
// a lag of about 10 ms; with 5 s, of 5 s).
import { createRequire } from 'node:module';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { collectDefaultMetrics, Gauge, type Registry } from 'prom-client';

const RESOLUTION_MS = 5_000;
const IDLE_STOP_MS = 10 * 60_000;

type Monitor = ReturnType<typeof monitorEventLoopDelay>;

type DefaultMetric = (registry: Registry, config: { prefix: string }) => void;

/** Registers prom-client's default process metrics under `prefix`, with the event-loop delay sampled on demand. */
export function registerProcessMetrics(registry: Registry, prefix: string, resolutionMs = RESOLUTION_MS): void {
  const require = createRequire(import.meta.url);
  for (const name of collectDefaultMetrics.metricsList) {
    if (name === 'eventLoopLag') continue;
    // prom-client has no option to leave one default metric out: each is a module of its own.
    (require(`prom-client/lib/metrics/${name}`) as DefaultMetric)(registry, { prefix });
  }
  registerEventLoopDelay(registry, prefix, resolutionMs);
}

function registerEventLoopDelay(registry: Registry, prefix: string, resolutionMs: number): void {
  const registers = [registry];
  let histogram: Monitor | undefined;
  let idle: NodeJS.Timeout | undefined;
  const stop = () => {
    histogram?.disable();
    histogram = undefined;
  };
  new Gauge({
    name: `${prefix}nodejs_eventloop_lag_seconds`,
    help: 'Lag of event loop in seconds.',
    registers,
    collect() {
      const start = process.hrtime.bigint();
      setImmediate(() => this.set(Number(process.hrtime.bigint() - start) / 1e9));
      if (histogram && histogram.count > 0) {
        // Node records the time between two ticks of its timer: the resolution plus the delay.
        const delay = (ns: number) => Math.max(0, ns / 1e9 - resolutionMs / 1000);
        min.set(delay(histogram.min));
        max.set(delay(histogram.max));
        mean.set(delay(histogram.mean));
        stddev.set(histogram.stddev / 1e9);
        p50.set(delay(histogram.percentile(50)));
        p90.set(delay(histogram.percentile(90)));
        p99.set(delay(histogram.percentile(99)));
        histogram.reset();
      }
      if (!histogram) {
        // Started (again): until it has samples the statistics read 0, never what they were before a pause.
        for (const g of [min, max, mean, stddev, p50, p90, p99]) g.reset();
        histogram = monitorEventLoopDelay({ resolution: resolutionMs });
        histogram.enable();
      }
      idle ??= setTimeout(stop, IDLE_STOP_MS).unref();
      idle.refresh();
    },
  });
  // Registered after the gauge above, whose collect() sets them: a registry reads its metrics in order.
  const gauge = (name: string, help: string) => new Gauge({ name: `${prefix}nodejs_eventloop_lag_${name}`, help, registers });
  const min = gauge('min_seconds', 'The minimum recorded event loop delay.');
  const max = gauge('max_seconds', 'The maximum recorded event loop delay.');
  const mean = gauge('mean_seconds', 'The mean of the recorded event loop delays.');
  const stddev = gauge('stddev_seconds', 'The standard deviation of the recorded event loop delays.');
  const p50 = gauge('p50_seconds', 'The 50th percentile of the recorded event loop delays.');
  const p90 = gauge('p90_seconds', 'The 90th percentile of the recorded event loop delays.');
  const p99 = gauge('p99_seconds', 'The 99th percentile of the recorded event loop delays.');
}

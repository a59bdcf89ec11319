// The VictoriaMetrics pipelines: samples per second and peak memory for vm-collect (REST source →
// VictoriaMetrics) and vm-extract (VictoriaMetrics → PostgreSQL) at two sizes, so that memory can be seen
// to stay flat as the number of samples grows; next to the baselines measured in the same run: one import
// request per source record, and one INSERT round trip per sample (the original service's loader).
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import type { JobDefinition, VmCollectTask, VmExtractTask } from '../src/definitions/types.ts';
import { businessDatesBefore } from '../src/workers/pipelines/business-dates.ts';
import { startVictoriaMetrics, VM_BINARY } from '../test/helpers/victoria-metrics.ts';
import type { ChildInput } from './pipeline-child.ts';
import type { Benchmark } from './run.ts';

const run = promisify(execFile);
const FIELDS = 10;
const FRIDAY_NOON = Date.UTC(2026, 9, 30, 12); // the fires' time: the current business date is Friday 2026-10-30

interface ChildOutput {
  ms: number;
  maxRssMb: number;
  loopDelayMaxMs: number;
  result: { status?: string; message?: string; details: { samples_written: number } };
}

async function child(input: ChildInput): Promise<ChildOutput> {
  const { stdout } = await run(process.execPath, [path.join(import.meta.dirname, 'pipeline-child.ts'), JSON.stringify(input)], { maxBuffer: 1 << 24 });
  const out = JSON.parse(stdout.trim().split('\n').at(-1)!) as ChildOutput;
  if (out.result.status && out.result.status !== 'succeeded') throw new Error(`${input.def.id}: ${out.result.status}: ${out.result.message}`);
  return out;
}

function base(id: string): Omit<JobDefinition, 'task'> {
  return {
    id,
    file: '/bench/job.yaml',
    enabled: true,
    schedule: { trigger: { kind: 'once' }, timezone: 'UTC', jitterMs: 0, catchup: 'skip', catchupWindowMs: 0 },
    overlap: 'skip',
    timeoutMs: 3_600_000,
    retry: { attempts: 0, delayMs: 0, backoff: 1, maxDelayMs: 0 },
    hash: id,
  };
}

function collectJob(label: string, sourceUrl: string, vmUrl: string, startDate: string): JobDefinition & { task: VmCollectTask } {
  return {
    ...base(`collect-${label}`),
    task: {
      type: 'vm-collect',
      source: { url: sourceUrl, dateParam: 'business_date', timeoutMs: 60_000 },
      victoriametrics: { url: vmUrl },
      metricPrefix: 'bench_data_',
      labelFields: ['desk', 'book'],
      labels: { source: 'bench', set: label },
      watermark: { metric: 'bench_watermark_days', startDate },
      slidingWindowDays: 0,
      statusMetric: 'bench_job_status',
    },
  };
}

function extractJob(label: string, vmUrl: string, databaseUrl: string, days: number): JobDefinition & { task: VmExtractTask } {
  return {
    ...base(`extract-${label}`),
    task: {
      type: 'vm-extract',
      victoriametrics: { url: vmUrl },
      query: `{__name__=~"bench_data_.*",set="${label}"}`,
      startDateOffsetDays: days,
      chunkSizeDays: 7,
      databaseUrl,
      statusMetric: 'bench_extract_status',
    },
  };
}

/** Pre-rendered source bodies, so that serving them costs the measured pipeline next to nothing. */
async function startSource(recordsPerDate: number) {
  const bodies = new Map<string, Buffer>();
  const body = (date: string) => {
    let b = bodies.get(date);
    if (!b) {
      const day = Number(date.slice(8, 10));
      const records = Array.from({ length: recordsPerDate }, (_, i) => {
        const r: Record<string, unknown> = { desk: `desk-${i % 20}`, book: `book-${i}` };
        for (let f = 0; f < FIELDS; f++) r[`field_${f}`] = Math.round((day * 1000 + i * 7.25 + f) * 100) / 100;
        return r;
      });
      bodies.set(date, (b = Buffer.from(JSON.stringify(records))));
    }
    return b;
  };
  const server = createServer((req, res) => {
    const date = new URL(req.url ?? '/', 'http://x').searchParams.get('business_date') ?? '';
    res.setHeader('content-type', 'application/json');
    res.end(body(date));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/data`, body, close: () => new Promise((r) => server.close(r)) };
}

const rate = (samples: number, ms: number) => Math.round(samples / (ms / 1000));
const fmt = (n: number) => n.toLocaleString('en-US');

export const pipelinesBenchmark: Benchmark = {
  name: 'pipelines',
  title: 'Pipelines: vm-collect and vm-extract throughput and memory',
  async run({ quick }) {
    const recordsPerDate = quick ? 1_000 : 5_000;
    const sizes = quick ? [{ label: 'small', dates: 2 }, { label: 'large', dates: 5 }] : [{ label: '250k', dates: 5 }, { label: '1m', dates: 20 }];
    const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-bench-pipelines-'));
    const [db, vm, source] = await Promise.all([
      startEmbeddedPostgres(dir, { info: () => undefined, warn: () => undefined }),
      startVictoriaMetrics(['-search.maxUniqueTimeseries=10000000']),
      startSource(recordsPerDate),
    ]);
    const rows: string[] = [];
    try {
      const vmVersion = (await run(VM_BINARY, ['-version'])).stdout.trim();
      const measured: Array<{ label: string; samples: number; collect: ChildOutput; extract: ChildOutput }> = [];
      for (const size of sizes) {
        const dates = businessDatesBefore('2026-10-31', size.dates);
        const collect = await child({ mode: 'jobsd', def: collectJob(size.label, source.url, vm.url, dates[0]!), fireTimeMs: FRIDAY_NOON });
        await vm.flush();
        const calendarDays = Math.round((Date.parse('2026-10-30') - Date.parse(dates[0]!)) / 86_400_000);
        const extract = await child({ mode: 'jobsd', def: extractJob(size.label, vm.url, db.url, calendarDays), fireTimeMs: FRIDAY_NOON });
        measured.push({ label: size.label, samples: collect.result.details.samples_written, collect, extract });
        process.stderr.write(`  ${size.label}: collect ${Math.round(collect.ms)} ms, extract ${Math.round(extract.ms)} ms\n`);
      }
      // Baselines over one business date of the largest set (a whole million would take many minutes).
      const largest = sizes.at(-1)!;
      const [oneDate] = businessDatesBefore('2026-10-31', 1);
      const collectBase = await child({ mode: 'baseline-collect', def: collectJob(`${largest.label}-baseline`, source.url, vm.url, oneDate!), fireTimeMs: FRIDAY_NOON, dates: [oneDate!] });
      const extractBase = await child({ mode: 'baseline-extract', def: extractJob(largest.label, vm.url, db.url, 0), fireTimeMs: FRIDAY_NOON, dates: [oneDate!] });
      const big = measured.at(-1)!;
      const collectRate = rate(big.samples, big.collect.ms);
      const extractRate = rate(big.extract.result.details.samples_written, big.extract.ms);
      const collectBaseRate = rate(collectBase.result.details.samples_written, collectBase.ms);
      const extractBaseRate = rate(extractBase.result.details.samples_written, extractBase.ms);

      rows.push(
        `Source records of ${fmt(recordsPerDate)} rows × ${FIELDS} numeric fields per business date (${fmt(recordsPerDate * FIELDS)} samples, each its own series),`,
        `served pre-rendered by a local HTTP server; ${vmVersion} on loopback; the embedded PostgreSQL. Each run is a process of`,
        'its own (peak RSS is that process: the agent-side cost), the pipeline in its worker thread as under `jobsd start`;',
        '"main-thread stall" is the largest event-loop delay of that process during the run (what the ticker would feel).',
        '',
        '| run | samples | time | samples/s | peak RSS | main-thread stall |',
        '| --- | ---: | ---: | ---: | ---: | ---: |',
      );
      for (const m of measured) {
        const written = m.extract.result.details.samples_written;
        rows.push(
          `| vm-collect, ${m.label} | ${fmt(m.samples)} | ${(m.collect.ms / 1000).toFixed(1)} s | ${fmt(rate(m.samples, m.collect.ms))} | ${Math.round(m.collect.maxRssMb)} MB | ${m.collect.loopDelayMaxMs.toFixed(0)} ms |`,
          `| vm-extract, ${m.label} | ${fmt(written)} | ${(m.extract.ms / 1000).toFixed(1)} s | ${fmt(rate(written, m.extract.ms))} | ${Math.round(m.extract.maxRssMb)} MB | ${m.extract.loopDelayMaxMs.toFixed(0)} ms |`,
        );
      }
      rows.push(
        `| baseline collect: one import request per record, 1 date | ${fmt(collectBase.result.details.samples_written)} | ${(collectBase.ms / 1000).toFixed(1)} s | ${fmt(collectBaseRate)} | ${Math.round(collectBase.maxRssMb)} MB | ${collectBase.loopDelayMaxMs.toFixed(0)} ms |`,
        `| baseline extract: one INSERT per sample, 1 date | ${fmt(extractBase.result.details.samples_written)} | ${(extractBase.ms / 1000).toFixed(1)} s | ${fmt(extractBaseRate)} | ${Math.round(extractBase.maxRssMb)} MB | ${extractBase.loopDelayMaxMs.toFixed(0)} ms |`,
        '',
        `Ratio on the largest set: collect ${(collectRate / collectBaseRate).toFixed(1)}× the per-record baseline, extract ${(extractRate / extractBaseRate).toFixed(1)}× the row-per-INSERT baseline.`,
        `Memory from the ${measured[0]!.label} set to the ${big.label} set (${(big.samples / measured[0]!.samples).toFixed(0)}× the samples): collect ${Math.round(measured[0]!.collect.maxRssMb)} → ${Math.round(big.collect.maxRssMb)} MB, extract ${Math.round(measured[0]!.extract.maxRssMb)} → ${Math.round(big.extract.maxRssMb)} MB.`,
      );
    } finally {
      await Promise.all([vm.stop(), db.stop(), source.close()]);
      rmSync(dir, { recursive: true, force: true });
    }
    return rows.join('\n');
  },
};

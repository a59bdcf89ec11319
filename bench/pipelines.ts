// The VictoriaMetrics pipelines: samples per second and peak memory for vm-collect (REST source →
// VictoriaMetrics) and vm-extract (VictoriaMetrics → PostgreSQL) at two sizes, so that memory can be seen
// to stay flat as the number of samples grows; next to the baselines measured in the same run: one import
// request per source record, and one INSERT round trip per sample (the original service's loader).
import { descendants } from './proc.ts';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { once } from 'node:events';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';
import { dateMs } from '../src/workers/pipelines/business-dates.ts';
import { recordsToLines } from '../src/workers/pipelines/prometheus-text.ts';
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
  /** The child's CPU, its threads included (user + system), in seconds. */
  cpuS: number;
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
    leaseMs: 30_000,
    retry: { attempts: 0, delayMs: 0, backoff: 1, maxDelayMs: 0 },
    hash: id,
    secrets: [],
  };
}

function collectJob(label: string, sourceUrl: string, vmUrl: string, startDate: string, slidingWindowDays = 0): JobDefinition & { task: VmCollectTask } {
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
      slidingWindowDays,
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

/** VictoriaMetrics alone: the same samples as Prometheus text prepared beforehand, two imports in flight. */
async function vmCeiling(vmUrl: string, body: (date: string) => Buffer, dates: string[]): Promise<{ samples: number; ms: number }> {
  const batches: string[] = [];
  let samples = 0;
  for (const date of dates) {
    const records = JSON.parse(body(date).toString()) as Record<string, unknown>[];
    const lines = recordsToLines(records, date, dateMs(date), { prefix: 'bench_data_', labelFields: ['desk', 'book'], labels: { source: 'bench', set: 'vm-ceiling' } });
    samples += lines.length;
    for (let i = 0; i < lines.length; i += 10_000) batches.push(lines.slice(i, i + 10_000).join('\n') + '\n');
  }
  const started = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < batches.length) {
      const res = await fetch(`${vmUrl}/api/v1/import/prometheus`, { method: 'POST', body: batches[next++]! });
      if (!res.ok) throw new Error(`VictoriaMetrics import: HTTP ${res.status}`);
    }
  };
  await Promise.all([worker(), worker()]);
  return { samples, ms: performance.now() - started };
}

/** PostgreSQL alone: rows of the same shape prepared beforehand, COPYed over two connections at once. */
export async function pgCeiling(databaseUrl: string, rows: number): Promise<{ samples: number; ms: number }> {
  const now = new Date().toISOString();
  const bodies = [0, 1].map((part) => {
    const chunks: string[] = [];
    let chunk = '';
    for (let i = part; i < rows; i += 2) {
      const labels = JSON.stringify({ book: `book-${i}`, business_date: '2026-10-30', desk: `desk-${i % 20}`, set: 'pg-ceiling', source: 'bench' });
      chunk += `2026-10-30\t\\N\tbench_data_field_${i % 10}\t${labels}\t${i * 1.25}\t2026-10-30T00:00:00.000Z\t${now}\tpg-ceiling\t${now}\n`;
      if (chunk.length > 65_536) {
        chunks.push(chunk);
        chunk = '';
      }
    }
    chunks.push(chunk);
    return chunks;
  });
  const started = performance.now();
  await Promise.all(
    bodies.map(async (chunks) => {
      const client = new pg.Client({ connectionString: databaseUrl });
      await client.connect();
      await client.query('BEGIN');
      const stream = client.query(copyFrom('COPY vm_extracted_metrics (biz_date, audit_id, metric_name, labels, value, "timestamp", extracted_at, job_id, job_execution_timestamp) FROM STDIN'));
      for (const chunk of chunks) if (!stream.write(chunk)) await once(stream, 'drain');
      stream.end();
      await once(stream, 'finish');
      await client.query('COMMIT');
      await client.end();
    }),
  );
  return { samples: rows, ms: performance.now() - started };
}

/** Waits until VictoriaMetrics has no merge running and nothing pending (at most 60 s): what a collect leaves behind. */
async function settle(vmUrl: string): Promise<number> {
  const started = performance.now();
  let quiet = 0;
  while (quiet < 2 && performance.now() - started < 60_000) {
    const text = await (await fetch(`${vmUrl}/metrics`)).text();
    const busy = [...text.matchAll(/^vm_(?:active_merges|pending_rows)\{[^}]*\} (\d+)/gm)].reduce((n, m) => n + Number(m[1]), 0);
    quiet = busy === 0 ? quiet + 1 : 0;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  return performance.now() - started;
}

/**
 * CPU seconds used so far by the peers this benchmark started (its descendants named victoria-metrics and
 * postgres), the PostgreSQL backends that have exited included (the postmaster's reaped children): read
 * around a run, what the peers spent on it.
 */
function peerCpu(): { vm: number; pg: number } {
  const cpu = { vm: 0, pg: 0 };
  for (const p of descendants()) {
    const seconds = (p.ownMs + p.childrenMs) / 1000;
    if (p.comm.startsWith('victoria')) cpu.vm += seconds;
    else if (p.comm.startsWith('postgres')) cpu.pg += seconds;
  }
  return cpu;
}

/** A run's CPU: the agent's (the child's own figure), VictoriaMetrics', PostgreSQL's. */
interface RunCpu {
  agent?: number;
  vm: number;
  pg: number;
}

async function withPeerCpu<T>(run: () => Promise<T>): Promise<{ value: T; cpu: { vm: number; pg: number } }> {
  const before = peerCpu();
  const value = await run();
  const after = peerCpu();
  return { value, cpu: { vm: after.vm - before.vm, pg: after.pg - before.pg } };
}

const cpuCell = (cpu: RunCpu | undefined) => (cpu ? `${cpu.agent === undefined ? '—' : cpu.agent.toFixed(1)} / ${cpu.vm.toFixed(1)} / ${cpu.pg.toFixed(1)} s` : '—');

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
      const vmVersion = /short_version="([^"]+)"/.exec(await (await fetch(`${vm.url}/metrics`)).text())?.[1] ?? 'VictoriaMetrics';
      const table: string[] = [];
      const row = (what: string, samples: number, ms: number, child?: ChildOutput, cpu?: RunCpu) =>
        table.push(`| ${what} | ${fmt(samples)} | ${(ms / 1000).toFixed(1)} s | ${fmt(rate(samples, ms))} | ${child ? `${Math.round(child.maxRssMb)} MB` : '—'} | ${child ? `${child.loopDelayMaxMs.toFixed(0)} ms` : '—'} | ${cpuCell(cpu)} |`);
      const measured: Array<{ label: string; collect: ChildOutput; extract: ChildOutput; extractCpu: RunCpu; idle: ChildOutput }> = [];
      for (const size of sizes) {
        const dates = businessDatesBefore('2026-10-31', size.dates);
        const collect = await child({ mode: 'jobsd', def: collectJob(size.label, source.url, vm.url, dates[0]!), fireTimeMs: FRIDAY_NOON });
        await settle(vm.url);
        const calendarDays = Math.round((Date.parse('2026-10-30') - Date.parse(dates[0]!)) / 86_400_000);
        const { value: extract, cpu } = await withPeerCpu(() => child({ mode: 'jobsd', def: extractJob(size.label, vm.url, db.url, calendarDays), fireTimeMs: FRIDAY_NOON }));
        const idle = await child({ mode: 'jobsd', def: extractJob(size.label, vm.url, db.url, calendarDays), fireTimeMs: FRIDAY_NOON });
        measured.push({ label: size.label, collect, extract, extractCpu: { agent: extract.cpuS, ...cpu }, idle });
        process.stderr.write(`  ${size.label}: collect ${Math.round(collect.ms)} ms, extract ${Math.round(extract.ms)} ms\n`);
      }
      const largest = sizes.at(-1)!;
      const largestDates = businessDatesBefore('2026-10-31', largest.dates);
      // The same set collected again over existing series (sliding_window_days covering it all): jobsd's own pace.
      const recollect = await child({ mode: 'jobsd', def: collectJob(largest.label, source.url, vm.url, largestDates[0]!, largest.dates), fireTimeMs: FRIDAY_NOON });
      // The peers alone, on the same data: the ceilings the pipelines run into on this machine.
      const vmAlone = await vmCeiling(vm.url, source.body, largestDates);
      const { value: pgAlone, cpu: pgAloneCpu } = await withPeerCpu(() => pgCeiling(db.url, largest.dates * recordsPerDate * FIELDS));
      // The baselines, over one business date (a million samples would take minutes).
      const [oneDate] = businessDatesBefore('2026-10-31', 1);
      const collectBase = await child({ mode: 'baseline-collect', def: collectJob(`${largest.label}-baseline`, source.url, vm.url, oneDate!), fireTimeMs: FRIDAY_NOON, dates: [oneDate!] });
      const extractBase = await child({ mode: 'baseline-extract', def: extractJob(largest.label, vm.url, db.url, 0), fireTimeMs: FRIDAY_NOON, dates: [oneDate!] });

      for (const m of measured) {
        row(`jobsd vm-collect, ${m.label} (new series)`, m.collect.result.details.samples_written, m.collect.ms, m.collect);
        row(`jobsd vm-extract, ${m.label}`, m.extract.result.details.samples_written, m.extract.ms, m.extract, m.extractCpu);
      }
      const idle = measured.at(-1)!.idle;
      table.push(`| jobsd vm-extract, ${largest.label} again: nothing new (the freshness check of ${largest.dates} dates only) | 0 | ${(idle.ms / 1000).toFixed(1)} s | — | ${Math.round(idle.maxRssMb)} MB | ${idle.loopDelayMaxMs.toFixed(0)} ms | — |`);
      row(`jobsd vm-collect, ${largest.label} again (existing series, sliding window)`, recollect.result.details.samples_written, recollect.ms, recollect);
      row(`VictoriaMetrics alone: import of the ${largest.label} set prepared beforehand (new series)`, vmAlone.samples, vmAlone.ms);
      row(`PostgreSQL alone: COPY of ${largest.label} prepared rows, 2 connections`, pgAlone.samples, pgAlone.ms, undefined, pgAloneCpu);
      row('baseline collect: one import request per record, 1 date', collectBase.result.details.samples_written, collectBase.ms, collectBase);
      row('baseline extract: one INSERT round trip per sample, 1 date', extractBase.result.details.samples_written, extractBase.ms, extractBase);

      const big = measured.at(-1)!;
      const small = measured[0]!;
      const collectRate = rate(big.collect.result.details.samples_written, big.collect.ms);
      const extractRate = rate(big.extract.result.details.samples_written, big.extract.ms);
      rows.push(
        `Source records of ${fmt(recordsPerDate)} rows × ${FIELDS} numeric fields per business date (${fmt(recordsPerDate * FIELDS)} samples, each its own series`,
        'since `business_date` is a label), served pre-rendered by a local HTTP server; VictoriaMetrics ' + vmVersion + ' and the embedded',
        'PostgreSQL on loopback, all on the same two cores. Each jobsd run is a process of its own with the pipeline in its worker',
        'thread, as under `jobsd start`: peak RSS is that process; "main-thread stall" is its largest event-loop delay during the',
        'run (what the ticker would feel). Each extract starts once VictoriaMetrics has finished merging what the collect',
        'wrote (in production the two run at different times). CPU is what the run cost the agent / VictoriaMetrics / PostgreSQL',
        '(from /proc, the exited PostgreSQL backends included): on two shared cores, their sum bounds the time.',
        '',
        '| run | samples | time | samples/s | peak RSS | main-thread stall | CPU: agent / VM / PostgreSQL |',
        '| --- | ---: | ---: | ---: | ---: | ---: | ---: |',
        ...table,
        '',
        `- **Against the baselines**: collect ${(collectRate / rate(collectBase.result.details.samples_written, collectBase.ms)).toFixed(1)}× the per-record importer, extract ${(extractRate / rate(extractBase.result.details.samples_written, extractBase.ms)).toFixed(1)}× the row-per-INSERT loader.`,
        `- **Against the peers alone**: a first collect reaches ${Math.round((100 * collectRate) / rate(vmAlone.samples, vmAlone.ms))}% of what VictoriaMetrics ingests of the same new series with nothing else running; the extract reaches ${Math.round((100 * extractRate) / rate(pgAlone.samples, pgAlone.ms))}% of PostgreSQL's own COPY of the same rows (which leaves out reading VictoriaMetrics).`,
        `- **Memory** from the ${small.label} set to the ${big.label} set (${(big.collect.result.details.samples_written / small.collect.result.details.samples_written).toFixed(0)}× the samples): collect ${Math.round(small.collect.maxRssMb)} → ${Math.round(big.collect.maxRssMb)} MB, extract ${Math.round(small.extract.maxRssMb)} → ${Math.round(big.extract.maxRssMb)} MB.`,
      );
    } finally {
      await Promise.all([vm.stop(), db.stop(), source.close()]);
      rmSync(dir, { recursive: true, force: true });
    }
    return rows.join('\n');
  },
};

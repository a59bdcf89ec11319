// Planner: time to compute the next fire per job, next to cron-parser's own iterator; and the time to
// load and validate 10,000 job files, next to bare YAML parsing of the same files.

import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CronExpressionParser } from 'cron-parser';
import { parse as parseYaml } from 'yaml';
import { loadDirectory } from '../src/definitions/directory.ts';
import type { Schedule, Trigger } from '../src/definitions/types.ts';
import { nextFire } from '../src/schedule/next.ts';
import type { Benchmark } from './run.ts';

const schedule = (trigger: Trigger, timezone = 'UTC'): Schedule => ({ trigger, timezone, jitterMs: 0, catchup: 'skip', catchupWindowMs: 3_600_000 });
const cron = (expression: string, timezone = 'UTC') => schedule({ kind: 'cron', expression, source: expression }, timezone);

const CASES: { label: string; schedule: Schedule; peer?: { expression: string; tz: string } }[] = [
  { label: 'cron `*/5 * * * *`, UTC', schedule: cron('*/5 * * * *'), peer: { expression: '*/5 * * * *', tz: 'UTC' } },
  { label: 'cron `30 2 * * *`, Europe/Berlin', schedule: cron('30 2 * * *', 'Europe/Berlin'), peer: { expression: '30 2 * * *', tz: 'Europe/Berlin' } },
  { label: 'cron `0 9 * * 1-5`, America/New_York', schedule: cron('0 9 * * 1-5', 'America/New_York'), peer: { expression: '0 9 * * 1-5', tz: 'America/New_York' } },
  { label: 'cron `* * * * * *` (seconds), Australia/Lord_Howe', schedule: cron('* * * * * *', 'Australia/Lord_Howe'), peer: { expression: '* * * * * *', tz: 'Australia/Lord_Howe' } },
  { label: 'every 15m', schedule: schedule({ kind: 'every', intervalMs: 900_000, anchorMs: 0 }) },
];

function perCallMicros(iterations: number, fn: (i: number) => void): number {
  for (let i = 0; i < Math.min(iterations, 500); i++) fn(i); // warm up
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) fn(i);
  return Number(process.hrtime.bigint() - start) / 1000 / iterations;
}

function jobFile(i: number): string {
  const kinds = [
    `schedule: { cron: "${i % 60} ${i % 24} * * *", timezone: Europe/Berlin }`,
    `schedule: every ${(i % 50) + 1}m`,
    `schedule: { cron: "*/${(i % 10) + 1} * * * *", jitter: 10s }`,
  ];
  return `id: job-${i}\ndescription: generated job ${i}\n${kinds[i % 3]}\ntimeout: 5m\nretry: { attempts: 2, delay: 10s }\ntask:\n  type: command\n  command: ["echo", "job ${i}"]\n  env: { N: "${i}" }\n`;
}

export const plannerBenchmark: Benchmark = {
  name: 'planner',
  title: 'Planner and loading',
  async run({ quick }) {
    const iterations = quick ? 2_000 : 20_000;
    const from = Date.parse('2026-01-01T00:00:00Z');
    const step = 3_600_000 * 7.3; // spread over the year, DST days included
    const rows = CASES.map((c) => {
      const ours = perCallMicros(iterations, (i) => nextFire(c.schedule, from + i * step));
      const peer = c.peer
        ? perCallMicros(iterations, (i) => CronExpressionParser.parse(c.peer!.expression, { tz: c.peer!.tz, currentDate: new Date(from + i * step) }).next())
        : undefined;
      return `| ${c.label} | ${ours.toFixed(1)} µs | ${peer === undefined ? '—' : `${peer.toFixed(1)} µs`} |`;
    });

    const files = quick ? 1_000 : 10_000;
    const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-bench-load-'));
    for (let i = 0; i < files; i++) writeFileSync(path.join(dir, `job-${i}.yaml`), jobFile(i));
    const t0 = performance.now();
    const loaded = loadDirectory(dir, { env: process.env, defaultTimezone: 'UTC' });
    const loadMs = performance.now() - t0;
    if (loaded.errors.length || loaded.definitions.length !== files) throw new Error(`load failed: ${loaded.errors.length} errors`);
    const t1 = performance.now();
    for (const name of readdirSync(dir)) parseYaml(readFileSync(path.join(dir, name), 'utf8'));
    const bareMs = performance.now() - t1;
    const t2 = performance.now();
    for (const def of loaded.definitions) nextFire(def.schedule, Date.now());
    const planAllMs = performance.now() - t2;
    rmSync(dir, { recursive: true, force: true });

    return [
      `Next fire after an instant, mean per call over ${iterations.toLocaleString('en')} instants spread over 2026 (DST days included).`,
      'The peer is cron-parser 5 parsing the expression with its own time-zone handling and taking `next()`, which is',
      'what a scheduler built directly on it does per fire (and which gets the DST rule wrong).',
      '',
      '| schedule | jobsd `nextFire` | cron-parser `parse(tz).next()` |',
      '| --- | ---: | ---: |',
      ...rows,
      '',
      `Loading ${files.toLocaleString('en')} YAML job files (read, parse with positions, merge, interpolate, validate against the schema, normalise):`,
      '',
      '| step | time |',
      '| --- | ---: |',
      `| jobsd \`loadDirectory\`, all ${files.toLocaleString('en')} files | ${loadMs.toFixed(0)} ms (${((loadMs * 1000) / files).toFixed(0)} µs per file) |`,
      `| bare \`yaml.parse\` of the same files (lower bound, no validation) | ${bareMs.toFixed(0)} ms |`,
      `| first \`nextFire\` of every loaded job | ${planAllMs.toFixed(0)} ms |`,
    ].join('\n');
  },
};

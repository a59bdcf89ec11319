// A real VictoriaMetrics for a test file: the Debian package's binary on a free loopback port with a
// temporary storage directory (.ci/run installs it with apt-get).

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pollUntil } from './poll.ts';

export const VM_BINARY = process.env.JOBSD_TEST_VM_BINARY ?? '/usr/bin/victoria-metrics';

export interface VictoriaMetrics {
  url: string;
  /**
   * Raw samples of the series matching `match`, as /api/v1/export lines. `end` is given explicitly: without
   * it VictoriaMetrics 1.79 leaves out the samples of the last -search.latencyOffset (30 s).
   */
  exportSeries(match: string): Promise<Array<{ metric: Record<string, string>; values: number[]; timestamps: number[] }>>;
  /**
   * Prometheus text lines into /api/v1/import/prometheus, as a user's other writer would: no flush, so they
   * show 1–10 s later (docs/pipelines.md), unless a pipeline run makes them visible.
   */
  importLines(lines: string[]): Promise<void>;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** `extraArgs` are added to the command line (benchmarks raise limits with them). */
export async function startVictoriaMetrics(extraArgs: string[] = []): Promise<VictoriaMetrics> {
  if (!existsSync(VM_BINARY)) {
    throw new Error(`VictoriaMetrics is not installed at ${VM_BINARY}: apt-get install victoria-metrics (.ci/run does), or set JOBSD_TEST_VM_BINARY`);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-test-vm-'));
  let child: ChildProcess | undefined;
  let url = '';
  let output = '';
  for (let attempt = 0; attempt < 5 && !url; attempt++) {
    const port = await freePort();
    child = spawn(VM_BINARY, [
      `-httpListenAddr=127.0.0.1:${port}`,
      `-storageDataPath=${path.join(dir, 'data')}`,
      '-retentionPeriod=100y',
      '-loggerLevel=WARN',
      ...extraArgs,
    ], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
    const exited = new Promise<boolean>((resolve) => child!.once('exit', () => resolve(false)));
    const candidate = `http://127.0.0.1:${port}`;
    const ready = pollUntil(async () => (await fetch(`${candidate}/health`).catch(() => undefined))?.ok, { timeoutMs: 15_000, intervalMs: 50, what: 'VictoriaMetrics /health' }).then(() => true);
    if (await Promise.race([ready, exited])) url = candidate;
  }
  if (!url || !child) throw new Error(`VictoriaMetrics did not start:\n${output}`);
  const proc = child;
  const vm: VictoriaMetrics = {
    url,
    async exportSeries(match) {
      const res = await fetch(`${url}/api/v1/export?${new URLSearchParams({ 'match[]': match, start: '0', end: String(Date.now() / 1000 + 86_400) })}`);
      if (!res.ok) throw new Error(`export: HTTP ${res.status}: ${await res.text()}`);
      return (await res.text()).split('\n').filter(Boolean).map((l) => JSON.parse(l));
    },
    async importLines(lines) {
      const res = await fetch(`${url}/api/v1/import/prometheus`, { method: 'POST', body: lines.join('\n') + '\n' });
      if (!res.ok) throw new Error(`import: HTTP ${res.status}: ${await res.text()}`);
    },
    async stop() {
      if (proc.exitCode === null) {
        const exited = new Promise((resolve) => proc.once('exit', resolve));
        proc.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return vm;
}

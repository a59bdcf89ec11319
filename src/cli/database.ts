// Database access for the CLI commands that read or write the shared state (run, list, history, status).
// With no database URL they use the embedded PostgreSQL of the data directory: the running agent's, or,
// when no agent runs, one started for the command's duration (as `jobsd start` would) and stopped after.

import { existsSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { runningEmbeddedUrl, startEmbeddedPostgres } from '../db/embedded.ts';
import { claimDataDir } from './agent-lock.ts';
import { CliError, UsageError, type Io } from './command.ts';
import { databaseProblem } from './database-errors.ts';

export const DATABASE_FLAGS = {
  'database-url': { type: 'string' },
  'data-dir': { type: 'string' },
} as const;

interface DatabaseFlags {
  'database-url'?: string | undefined;
  'data-dir'?: string | undefined;
}

/** How long the CLI waits for a connection before saying the database does not answer. */
const CONNECT_TIMEOUT_MS = 5_000;

/** The database to use: a URL from the flags or the environment, else the running embedded server's. */
export function databaseUrl(flags: DatabaseFlags, io: Io): string {
  const url = configuredUrl(flags, io);
  if (url) return url;
  const dataDir = dataDirOf(flags, io);
  const embedded = runningEmbeddedUrl(dataDir);
  if (embedded) return embedded;
  throw noDatabase(dataDir);
}

function configuredUrl(flags: DatabaseFlags, io: Io): string | undefined {
  return flags['database-url'] ?? (io.env.JOBSD_DATABASE_URL || undefined) ?? (io.env.DATABASE_URL || undefined);
}

function dataDirOf(flags: DatabaseFlags, io: Io): string {
  return flags['data-dir'] ?? io.env.JOBSD_DATA_DIR ?? '.jobsd';
}

/** No database configured and no embedded one in the data directory (a usage error: exit 2). */
export class NoDatabaseError extends UsageError {}

function noDatabase(dataDir: string): NoDatabaseError {
  return new NoDatabaseError(
    `no database: set --database-url or JOBSD_DATABASE_URL, or start the agent (jobsd start) so that its embedded PostgreSQL in ${dataDir}/pg exists`,
    { withUsage: false },
  );
}

export interface CliDatabase {
  url: string;
  pool: pg.Pool;
}

/**
 * Runs `fn` on the command's database. An embedded database that no agent runs is started for the
 * duration (one line on stderr says so); ordinary failures to connect become one-line CliErrors.
 */
export async function withDatabase<T>(flags: DatabaseFlags, io: Io, fn: (db: CliDatabase) => Promise<T>): Promise<T> {
  const url = configuredUrl(flags, io);
  if (url) return withPool(url, (pool) => fn({ url, pool }), 'check --database-url (or JOBSD_DATABASE_URL)');
  const dataDir = dataDirOf(flags, io);
  const running = runningEmbeddedUrl(dataDir);
  if (running) return withPool(running, (pool) => fn({ url: running, pool }), `check the embedded PostgreSQL in ${dataDir} (its log: ${dataDir}/postgres.log)`);
  if (!existsSync(path.join(path.resolve(dataDir), 'pg', 'PG_VERSION'))) throw noDatabase(dataDir);
  // No agent runs on this data directory: start its server for this command, holding the data directory
  // as an agent would, so that a `jobsd start` meanwhile says so instead of taking the server over.
  const claim = claimDataDir(dataDir, undefined);
  if ('holder' in claim) throw new CliError(`another jobsd (pid ${claim.holder.pid}) holds the data directory ${path.resolve(dataDir)} (an agent starting or stopping, or another command): try again in a moment`);
  try {
    io.stderr(`(no agent is running on ${dataDir}: starting its embedded PostgreSQL for this command)\n`);
    let embedded;
    try {
      embedded = await startEmbeddedPostgres(dataDir, { info: () => undefined, warn: (m) => io.stderr(`(${m})\n`) });
    } catch (error) {
      throw new CliError(`could not start the embedded PostgreSQL in ${dataDir}: ${(error as Error).message}`);
    }
    try {
      const started = embedded.url;
      return await withPool(started, (pool) => fn({ url: started, pool }), `see ${dataDir}/postgres.log`);
    } finally {
      await embedded.stop();
    }
  } finally {
    claim.release();
  }
}

/** Runs `fn` on a small pool of `url`; a failure to connect or log in is a one-line CliError. */
export async function withPool<T>(url: string, fn: (pool: pg.Pool) => Promise<T>, check?: string): Promise<T> {
  const pool = new pg.Pool({ connectionString: url, max: 2, application_name: 'jobsd cli', connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
  pool.on('error', () => undefined); // an idle connection dropped: the next query says so
  try {
    return await fn(pool);
  } catch (error) {
    if (error instanceof CliError || error instanceof UsageError) throw error;
    const problem = databaseProblem(error, url, check);
    if (problem) throw new CliError(problem, { cause: error });
    throw error;
  } finally {
    await pool.end().catch(() => undefined);
  }
}

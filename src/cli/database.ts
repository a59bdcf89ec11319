// Database access for the CLI commands that read or write the shared state (run, list, history, status).

import pg from 'pg';
import { runningEmbeddedUrl } from '../db/embedded.ts';
import { UsageError, type Io } from './command.ts';

export const DATABASE_FLAGS = {
  'database-url': { type: 'string' },
  'data-dir': { type: 'string' },
} as const;

export function databaseUrl(flags: { 'database-url'?: string | undefined; 'data-dir'?: string | undefined }, io: Io): string {
  const url = flags['database-url'] ?? io.env.JOBSD_DATABASE_URL ?? io.env.DATABASE_URL;
  if (url) return url;
  const dataDir = flags['data-dir'] ?? io.env.JOBSD_DATA_DIR ?? '.jobsd';
  const embedded = runningEmbeddedUrl(dataDir);
  if (embedded) return embedded;
  throw new UsageError(
    `no database: set --database-url or JOBSD_DATABASE_URL, or start the agent (jobsd start) so that its embedded PostgreSQL in ${dataDir}/pg is running`,
  );
}

export async function withPool<T>(url: string, fn: (pool: pg.Pool) => Promise<T>): Promise<T> {
  const pool = new pg.Pool({ connectionString: url, max: 2, application_name: 'jobsd cli' });
  try {
    return await fn(pool);
  } finally {
    await pool.end();
  }
}

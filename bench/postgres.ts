// One embedded PostgreSQL for a benchmark, in a temporary directory, with an admin connection and a
// database per subject (so each system's statements and rows stay apart).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres } from '../src/db/embedded.ts';

export interface BenchPostgres {
  /** The server's default database. */
  url: string;
  admin: pg.Client;
  /** Creates an empty database (dropping one of that name first) and returns its URL. */
  database(name: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startBenchPostgres(label: string, postgresFlags: string[] = []): Promise<BenchPostgres> {
  const dir = mkdtempSync(path.join(tmpdir(), `jobsd-bench-${label}-db-`));
  const db = await startEmbeddedPostgres(dir, { info: () => undefined, warn: () => undefined }, { postgresFlags });
  const admin = new pg.Client({ connectionString: db.url });
  await admin.connect();
  return {
    url: db.url,
    admin,
    async database(name) {
      await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await admin.query(`CREATE DATABASE ${name}`);
      const url = new URL(db.url);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async stop() {
      await admin.end();
      await db.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

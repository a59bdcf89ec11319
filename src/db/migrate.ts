// Numbered SQL migrations (src/db/migrations/NNN_name.sql), applied in order at start under an
// advisory lock, so replicas starting together apply each one exactly once.

import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type pg from 'pg';

const DIR = path.join(import.meta.dirname, 'migrations');
/** Arbitrary but fixed: "jobsd" in ASCII. */
const LOCK_KEY = 0x6a6f6273;

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function migrations(): Migration[] {
  return readdirSync(DIR)
    .filter((f) => /^\d+_.+\.sql$/.test(f))
    .sort()
    .map((f) => ({ version: Number(f.split('_')[0]), name: f.replace(/\.sql$/, ''), sql: readFileSync(path.join(DIR, f), 'utf8') }));
}

/** Applies the migrations not applied yet; returns the names applied by this call. */
export async function migrate(pool: pg.Pool): Promise<string[]> {
  const client = await pool.connect();
  const onError = () => undefined; // a dropped connection fails the next query instead of the process
  client.on('error', onError);
  const applied: string[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [LOCK_KEY]);
    await client.query(`CREATE SCHEMA IF NOT EXISTS jobsd;
      CREATE TABLE IF NOT EXISTS jobsd.migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`);
    const done = new Set((await client.query<{ version: number }>('SELECT version FROM jobsd.migrations')).rows.map((r) => r.version));
    for (const m of migrations()) {
      if (done.has(m.version)) continue;
      await client.query('BEGIN');
      try {
        await client.query(m.sql);
        await client.query('INSERT INTO jobsd.migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
        await client.query('COMMIT');
        applied.push(m.name);
      } catch (error) {
        await client.query('ROLLBACK');
        throw new Error(`migration ${m.name} failed: ${(error as Error).message}`, { cause: error });
      }
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [LOCK_KEY]).catch(() => undefined);
    client.off('error', onError);
    client.release();
  }
  return applied;
}

// A database of its own for each test file, on the run's PostgreSQL (see test/global-setup.ts).

import { randomBytes } from 'node:crypto';
import pg from 'pg';

export function serverUrl(): string {
  const url = process.env.JOBSD_TEST_DATABASE_URL;
  if (!url) throw new Error('JOBSD_TEST_DATABASE_URL is not set: run the tests through npm test (test/global-setup.ts)');
  return url;
}

/** Creates an empty database and returns its URL. It is left in place for inspection. */
export async function freshDatabase(label = 'test'): Promise<string> {
  const name = `jobsd_${label.replace(/[^a-z0-9]/gi, '_').toLowerCase()}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: serverUrl() });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(serverUrl());
  url.pathname = `/${name}`;
  return url.toString();
}

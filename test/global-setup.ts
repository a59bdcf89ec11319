// One real PostgreSQL for the whole test run: JOBSD_TEST_DATABASE_URL when set, else an embedded
// server in a temporary directory. Each test file makes its own database on it (test/helpers/db.ts).

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.ts';

let server: EmbeddedDatabase | undefined;
let dir: string | undefined;

export async function globalSetup(): Promise<void> {
  if (process.env.JOBSD_TEST_DATABASE_URL) return;
  dir = mkdtempSync(path.join(tmpdir(), 'jobsd-test-pg-'));
  server = await startEmbeddedPostgres(dir, { info: () => undefined, warn: (m) => process.stderr.write(m + '\n') });
  process.env.JOBSD_TEST_DATABASE_URL = server.url;
}

export async function globalTeardown(): Promise<void> {
  await server?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

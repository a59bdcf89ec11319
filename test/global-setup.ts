// One real PostgreSQL for the whole test run: JOBSD_TEST_DATABASE_URL when set, else an embedded
// server in a temporary directory. Each test file makes its own database on it (test/helpers/db.ts).
// Every test file's temporary directories go in one scratch directory (TMPDIR, which os.tmpdir()
// reads), removed at the end of the run: a test that leaves its directories behind leaves nothing.

import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { startEmbeddedPostgres, type EmbeddedDatabase } from '../src/db/embedded.ts';

let server: EmbeddedDatabase | undefined;
let scratch: string | undefined;

export async function globalSetup(): Promise<void> {
  scratch = mkdtempSync(path.join(tmpdir(), 'jobsd-test-'));
  chmodSync(scratch, 0o1777); // as /tmp is: tests hand directories in it to other users
  process.env.TMPDIR = scratch;
  if (process.env.JOBSD_TEST_DATABASE_URL) return;
  const dir = mkdtempSync(path.join(scratch, 'pg-'));
  server = await startEmbeddedPostgres(dir, { info: () => undefined, warn: (m) => process.stderr.write(m + '\n') });
  process.env.JOBSD_TEST_DATABASE_URL = server.url;
}

export async function globalTeardown(): Promise<void> {
  await server?.stop();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
}

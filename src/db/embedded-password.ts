// The embedded PostgreSQL's superuser password: random, made when the data directory is first
// initialised, kept in DATA_DIR/pg-password (mode 0600, the agent's user's), never logged. The CLI
// reads it there, as it reads the port from postmaster.pid. Earlier versions used a fixed password,
// which any local user could log in with (and run programs as the server's user): a data directory
// still on it is moved to a random one at the agent's next start (src/db/embedded.ts).

import { randomBytes } from 'node:crypto';
import { chmodSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { SUPERUSER } from './embedded-server.ts';

/** The password of data directories initialised by jobsd before 0.2. */
export const LEGACY_PASSWORD = 'jobsd-embedded';

export function passwordPath(dataDir: string): string {
  return path.join(path.resolve(dataDir), 'pg-password');
}

/** The stored password, undefined when there is none yet. */
export function readPassword(dataDir: string): string | undefined {
  try {
    const text = readFileSync(passwordPath(dataDir), 'utf8').trim();
    return text === '' ? undefined : text;
  } catch {
    return undefined;
  }
}

/** The stored password, or a new random one stored first (0600, written whole or not at all). */
export function ensurePassword(dataDir: string): string {
  const existing = readPassword(dataDir);
  const file = passwordPath(dataDir);
  if (existing) {
    chmodSync(file, 0o600); // a file loosened by hand is tightened again
    return existing;
  }
  const password = randomBytes(24).toString('base64url');
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, password + '\n', { mode: 0o600 });
  renameSync(temporary, file);
  return password;
}

/**
 * Makes `password` the superuser's, on a server that may still have the fixed password of earlier
 * versions. True when it had to be changed.
 */
export async function migrateLegacyPassword(port: number, password: string): Promise<boolean> {
  const connect = async (secret: string) => {
    const client = new pg.Client({ host: '127.0.0.1', port, user: SUPERUSER, password: secret, database: 'postgres' });
    client.on('error', () => undefined);
    await client.connect();
    return client;
  };
  try {
    await (await connect(password)).end();
    return false;
  } catch (err) {
    if ((err as { code?: string }).code !== '28P01') throw err;
  }
  const legacy = await connect(LEGACY_PASSWORD);
  try {
    await legacy.query(`ALTER ROLE ${SUPERUSER} PASSWORD ${legacy.escapeLiteral(password)}`);
  } finally {
    await legacy.end();
  }
  return true;
}

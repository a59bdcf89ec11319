// One agent per data directory (its embedded PostgreSQL is that agent's), and an HTTP address that is
// free: checked before anything starts, so that a second `jobsd start` says so in one line instead of
// sharing the first one's server, registering itself, and dying on EADDRINUSE.

import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { liveProcess } from '../db/live-process.ts';

export interface LockHolder {
  pid: number;
  http?: string;
}

export interface DataDirLock {
  release(): void;
}

function lockPath(dataDir: string): string {
  return path.join(path.resolve(dataDir), 'agent.pid');
}

/** Whether `pid` is a live jobsd (its process title, or node running bin/jobsd.js). */
function liveAgent(pid: number): boolean {
  return pid !== process.pid && liveProcess(pid, (argv) => argv.join(' ').includes('jobsd'));
}

function readHolder(file: string): LockHolder | undefined {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as LockHolder;
  } catch {
    return undefined;
  }
}

/** Claims the data directory for this process, or returns the live agent that holds it. */
export function claimDataDir(dataDir: string, http: string | undefined): DataDirLock | { holder: LockHolder } {
  const file = lockPath(dataDir);
  const mine = JSON.stringify({ pid: process.pid, ...(http ? { http } : {}) }) + '\n';
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeFileSync(file, mine, { flag: 'wx', mode: 0o644 });
      return {
        release() {
          if (readHolder(file)?.pid === process.pid) unlinkSync(file);
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const holder = readHolder(file);
    if (holder && liveAgent(holder.pid)) return { holder };
    unlinkSync(file); // left by an agent that was killed
  }
  throw new Error(`could not claim ${file}: another agent is starting on the same data directory`);
}

export function dataDirBusyMessage(dataDir: string, holder: LockHolder): string {
  return (
    `another jobsd (pid ${holder.pid}${holder.http ? `, HTTP on ${holder.http}` : ''}) is running on the data directory ${path.resolve(dataDir)}; ` +
    'to run a second agent, give it its own --data-dir DIR and --http HOST:PORT (or --http off), or run both on one PostgreSQL with --database-url'
  );
}

/** Undefined when host:port can be listened on; else why not, in one line naming the flag. */
export function httpAddressProblem(host: string, port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the address is already in use (another jobsd?)' : `it cannot be listened on (${err.code ?? err.message})`;
      resolve(`--http ${host}:${port}: ${why}: choose another with --http HOST:PORT, or --http off`);
    });
    server.listen(port, host, () => server.close(() => resolve(undefined)));
  });
}

// The fault suite's cluster: a PostgreSQL of its own (so that it can be restarted without disturbing the
// other test files), agents started through the CLI, each behind a TCP relay that can stop forwarding
// (a partition), and command jobs that write their own marks: start, a tick every 200 ms while they
// run, and end. The checker (./checker.ts) reads those marks and the ledger.

import { mkdtempSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { TestContext } from 'node:test';
import pg from 'pg';
import { freePort, startEmbeddedPostgres, type EmbeddedDatabase } from '../../src/db/embedded.ts';
import { jobsDir, ledger, startAgent, type AgentProcess, type LedgerRow } from '../helpers/agent.ts';
import { pollUntil } from '../helpers/poll.ts';
import { tcpRelay, type TcpRelay } from '../helpers/tcp-relay.ts';
import { parseMarks, type Mark } from './checker.ts';

const quiet = { info: () => undefined, warn: () => undefined };

export interface ClusterAgent extends AgentProcess {
  relay: TcpRelay;
}

export interface Cluster {
  url: string;
  dir: string;
  marksFile: string;
  agents: Map<string, ClusterAgent>;
  startAgent(name: string, args?: string[]): Promise<ClusterAgent>;
  /** Stops PostgreSQL (fast shutdown: sessions are terminated). */
  stopDatabase(): Promise<void>;
  startDatabase(): Promise<void>;
  marks(): Mark[];
  query<T extends pg.QueryResultRow>(text: string, values?: unknown[]): Promise<T[]>;
}

/**
 * A job that writes marks: `start`, `tick` every 200 ms for `seconds`, then `end`, each with the job, fire,
 * attempt, instance and the time in ms. `extra` is YAML merged into the job (schedule, overlap, retry, lease).
 */
export function markingJob(marksFile: string, seconds: number, extra: string): string {
  const ticks = Math.round(seconds * 5);
  const script =
    `m() { echo "$1 $JOBSD_JOB_ID $JOBSD_FIRE_TIME $JOBSD_ATTEMPT $JOBSD_INSTANCE $(date +%s%3N)" >> '${marksFile}'; }; ` +
    `m start; i=0; while [ $i -lt ${ticks} ]; do sleep 0.2; m tick; i=$((i+1)); done; m end`;
  return `${extra.trim()}\ntask: { type: command, command: ["/bin/sh", "-c", ${JSON.stringify(script)}] }\n`;
}

export async function startCluster(t: Pick<TestContext, 'after'>, jobs: (marksFile: string) => Record<string, string>): Promise<Cluster> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'jobsd-faults-pg-'));
  const port = await freePort();
  let db: EmbeddedDatabase | undefined = await startEmbeddedPostgres(dataDir, quiet, { port });
  const url = db.url;
  const marksFile = path.join(mkdtempSync(path.join(tmpdir(), 'jobsd-faults-marks-')), 'marks');
  const dir = jobsDir(jobs(marksFile));
  const agents = new Map<string, ClusterAgent>();
  t.after(async () => {
    for (const agent of agents.values()) {
      if (agent.child.exitCode === null && agent.child.signalCode === null) agent.child.kill('SIGCONT');
      await agent.stop('SIGKILL');
      agent.relay.close();
    }
    await db?.stop();
  });
  return {
    url,
    dir,
    marksFile,
    agents,
    async startAgent(name, args = []) {
      const relay = await tcpRelay(url);
      const agent = await startAgent({ name, jobsDir: dir, databaseUrl: relay.url, args });
      const member = Object.assign(agent, { relay });
      agents.set(name, member);
      return member;
    },
    async stopDatabase() {
      await db?.stop();
      db = undefined;
    },
    async startDatabase() {
      db = await startEmbeddedPostgres(dataDir, quiet, { port });
    },
    marks: () => (existsSync(marksFile) ? parseMarks(readFileSync(marksFile, 'utf8')) : []),
    async query(text, values) {
      const client = new pg.Client({ connectionString: url });
      await client.connect();
      try {
        return (await client.query(text, values)).rows;
      } finally {
        await client.end();
      }
    },
  };
}

/** Waits until a mark matching `pred` has been written. */
export async function awaitMark(cluster: Cluster, pred: (m: Mark) => boolean, what: string, timeoutMs = 30_000): Promise<Mark> {
  try {
    return await pollUntil(() => cluster.marks().find(pred), { timeoutMs, intervalMs: 20, what });
  } catch (error) {
    // What the queue and the ledger say then, for a failure seen only under load.
    const jobs = await cluster.query('SELECT name, state::text, retry_count, start_after, started_on, completed_on FROM pgboss.job ORDER BY created_on').catch((e: unknown) => String(e));
    const fires = await cluster.query('SELECT job_id, fire_time, state, attempts, instance, started_at, finished_at FROM jobsd.fires ORDER BY fire_time').catch((e: unknown) => String(e));
    throw new Error(`${(error as Error).message}\npg-boss: ${JSON.stringify(jobs)}\nledger: ${JSON.stringify(fires)}`, { cause: error });
  }
}

/** The pg-boss state of a fire's job (its run id), or undefined when pg-boss has none. */
export async function bossState(cluster: Cluster, runId: string): Promise<string | undefined> {
  const rows = await cluster.query<{ state: string }>('SELECT state::text FROM pgboss.job WHERE id = $1', [runId]);
  return rows[0]?.state;
}

/** Waits until the job's first fire is completed in pg-boss (nothing fails it over after that); returns its ledger rows. */
export async function awaitCompleted(cluster: Cluster, job: string, timeoutMs = 90_000): Promise<LedgerRow[]> {
  return pollUntil(async () => {
    const first = await ledger(cluster.url, job);
    // Read again once pg-boss says completed: the rows read before may predate the end written just before it.
    return first[0] && (await bossState(cluster, first[0].run_id)) === 'completed' ? ledger(cluster.url, job) : undefined;
  }, { timeoutMs, intervalMs: 250, what: `${job} to complete in pg-boss` });
}

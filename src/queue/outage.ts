// A database outage as the dispatcher lives through it: which jobs missed fires while the database could
// not be reached (the first such fire minus 1 ms, and the fires themselves), and a probe every PROBE_MS
// until it answers again. Then `onBack` gets the jobs, once, to apply each one's catch-up policy and to
// enqueue the fires handed over ahead of their time meanwhile (src/queue/dispatcher.ts).

import { setTimeout as sleep } from 'node:timers/promises';
import type pg from 'pg';
import type { JobDefinition } from '../definitions/types.ts';
import type { Logger } from '../log.ts';
import type { Fire } from '../ticker/ticker.ts';

const PROBE_MS = 2_000;

export interface MissedJob {
  definition: JobDefinition;
  sinceMs: number;
  fires: Fire[];
}

export class Outage {
  private readonly pending = new Map<string, MissedJob>();
  private since: number | undefined;
  private stopped = false;
  private readonly pool: pg.Pool;
  private readonly logger: Logger;
  /** The database answers again: the jobs that missed fires, and the instant to catch them up to. */
  private readonly onBack: (jobs: MissedJob[], downMs: number) => void;

  constructor(pool: pg.Pool, logger: Logger, onBack: (jobs: MissedJob[], downMs: number) => void) {
    this.pool = pool;
    this.logger = logger;
    this.onBack = onBack;
  }

  /** Whether the database is taken to be unreachable now. */
  get active(): boolean {
    return this.since !== undefined;
  }

  /** A fire of the job (at `fireTimeMs`) not enqueued; `fire`, when it is to be enqueued as it was handed over. */
  remember(definition: JobDefinition, fireTimeMs: number, fire?: Fire): void {
    const known = this.pending.get(definition.id);
    const fires = (known?.fires ?? []).filter((f) => f.definition.hash === definition.hash);
    if (fire && !fires.some((f) => f.fireTimeMs === fire.fireTimeMs)) fires.push(fire);
    this.pending.set(definition.id, { definition, sinceMs: Math.min(known?.sinceMs ?? Infinity, fireTimeMs - 1), fires });
  }

  /** The database did not answer: probe until it does (once per outage). */
  begin(err: unknown): void {
    if (this.since !== undefined || this.stopped) return;
    this.since = Date.now();
    this.logger.error({ err }, "database unreachable: fires are not enqueued now; each job's catch-up policy applies to them when it is back");
    void this.probe();
  }

  stop(): void {
    this.stopped = true;
  }

  private async probe(): Promise<void> {
    while (!this.stopped) {
      await sleep(PROBE_MS);
      try {
        await this.pool.query('SELECT 1');
      } catch {
        continue;
      }
      const jobs = [...this.pending.values()];
      this.pending.clear();
      const downMs = Date.now() - (this.since ?? Date.now());
      this.since = undefined;
      this.onBack(jobs, downMs);
      return;
    }
  }
}

// The workers' ledger writes, coalesced: every update asked for in one turn of the event loop goes
// to the database in one statement (a fetched batch of runs starting together is one UPDATE, not one
// per run). Each caller still awaits its own row being written, and sees its own error.

import { recordAttempts, type AttemptUpdate } from './fire-transitions.ts';
import type { Queryable } from './ledger.ts';

interface Pending {
  jobId: string;
  fireTimeMs: number;
  update: AttemptUpdate;
  resolve: () => void;
  reject: (error: unknown) => void;
}

export class LedgerWriter {
  private readonly db: Queryable;
  private pending: Pending[] = [];

  constructor(db: Queryable) {
    this.db = db;
  }

  update(jobId: string, fireTimeMs: number, update: AttemptUpdate): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      if (this.pending.length === 0) setImmediate(() => void this.flush());
      this.pending.push({ jobId, fireTimeMs, update, resolve, reject });
    });
  }

  private async flush(): Promise<void> {
    let batch = this.pending;
    this.pending = [];
    // A row updated twice in one batch keeps its order: the later update goes in the next statement.
    while (batch.length > 0) {
      const seen = new Set<string>();
      const wave: Pending[] = [];
      const later: Pending[] = [];
      for (const item of batch) {
        const key = `${item.jobId}\0${item.fireTimeMs}`;
        if (seen.has(key)) later.push(item);
        else {
          seen.add(key);
          wave.push(item);
        }
      }
      try {
        await recordAttempts(this.db, wave);
        for (const item of wave) item.resolve();
      } catch (error) {
        for (const item of wave) item.reject(error);
      }
      batch = later;
    }
  }
}

// Writes that must not be lost: the end of a run (its ledger row, its settlement in pg-boss). One that
// fails (the database is restarting, or this agent is cut off from it) is tried again, with a growing
// pause, until it succeeds or the agent stops for good; meanwhile the agent claims nothing new
// (`EndsInFlight.pending`), so what it already ran is recorded before it runs more.

import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../log.ts';

const FIRST_PAUSE_MS = 250;
const MAX_PAUSE_MS = 2_000;

export class EndsInFlight {
  private count = 0;
  private stopped = false;
  private readonly waiters = new Set<() => void>();
  private readonly abort = new AbortController();
  private readonly onIdle: (() => void) | undefined;

  /** `onIdle` is called each time the last pending end has been written (to claim again). */
  constructor(onIdle?: () => void) {
    this.onIdle = onIdle;
  }

  /** Ends still being written: while there are any, no new run is claimed. */
  get pending(): number {
    return this.count;
  }

  /** Resolves when no end is pending. */
  async drained(): Promise<void> {
    while (this.count > 0) await new Promise<void>((resolve) => this.waiters.add(resolve));
  }

  /** Stops retrying (the agent exits now): pending writes give up at their next failure. */
  stop(): void {
    this.stopped = true;
    this.abort.abort();
  }

  /**
   * Runs `write` until it succeeds. Resolves true once written, false when the agent stopped first.
   * `what` names the write in the log; `fields` are the run's log fields.
   */
  async write(what: string, fields: object, logger: Logger, write: () => Promise<unknown>): Promise<boolean> {
    this.count++;
    let failures = 0;
    try {
      for (let pause = FIRST_PAUSE_MS; ; pause = Math.min(MAX_PAUSE_MS, pause * 2)) {
        try {
          await write();
          if (failures > 0) logger.info({ ...fields, tries: failures + 1 }, `${what}: written once the database answered again`);
          return true;
        } catch (err) {
          failures++;
          if (failures === 1) logger.warn({ ...fields, err }, `${what} failed; trying again until the database answers (no new run is claimed meanwhile)`);
          if (this.stopped) {
            logger.error({ ...fields, err }, `${what}: not written, the agent is stopping`);
            return false;
          }
          await sleep(pause, undefined, { signal: this.abort.signal }).catch(() => undefined);
        }
      }
    } finally {
      this.count--;
      if (this.count === 0) {
        for (const wake of this.waiters) wake();
        this.waiters.clear();
        this.onIdle?.();
      }
    }
  }
}

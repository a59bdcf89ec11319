// Pauses as the agents hear of them, for the runs already claimed ahead of their time. A pause's sweep
// (src/queue/pause.ts) takes back the fires still waiting in the queue, but a fire claimed ahead (up to a
// second before it is due) is held by its agent until then, out of the sweep's reach. So a pause is also
// announced on pg-boss's notification channel, which every agent listens to (src/queue/listener.ts), and
// the holder checks, synchronously, right before the start: a held run of a job paused meanwhile does not
// start. Notices are kept for NOTICE_TTL_MS only: they are for the runs held when the pause was written, and
// a resume whose notice was lost (the listening connection was down) must not stop fires for long. The
// enqueue transaction and the sweep remain what makes a pause hold for every fire queued after it.

import type { Pause } from '../db/pauses.ts';

/** Payload prefixes on pg-boss's channel; a queue name (the channel's other payloads) never has a colon. */
const PAUSED = 'jobsd-paused:';
const RESUMED = 'jobsd-resumed:';
/** How long a notice is acted on: longer than any run is held ahead, and than a sweep takes. */
export const NOTICE_TTL_MS = 15_000;

export function pausedPayload(pause: Omit<Pause, 'pausedAtMs'>): string {
  return PAUSED + JSON.stringify({ job: pause.jobId, until: pause.untilMs ?? null, by: pause.by, reason: pause.reason ?? null });
}

export function resumedPayload(jobId: string): string {
  return `${RESUMED}${jobId}`;
}

interface Notice {
  heardAtMs: number;
  pause: Omit<Pause, 'pausedAtMs'>;
}

export class PauseNotices {
  private readonly notices = new Map<string, Notice>();
  private readonly now: () => number;

  constructor(now: () => number = Date.now) {
    this.now = now;
  }

  /** Takes a payload that is a pause notice (true), or leaves it to the caller (false). */
  heard(payload: string): boolean {
    if (payload.startsWith(RESUMED)) {
      this.notices.delete(payload.slice(RESUMED.length));
      return true;
    }
    if (!payload.startsWith(PAUSED)) return false;
    try {
      const { job, until, by, reason } = JSON.parse(payload.slice(PAUSED.length)) as { job: string; until: number | null; by: string; reason: string | null };
      this.prune();
      this.notices.set(job, { heardAtMs: this.now(), pause: { jobId: job, by, ...(typeof until === 'number' ? { untilMs: until } : {}), ...(typeof reason === 'string' ? { reason } : {}) } });
    } catch {
      // not one of ours after all
    }
    return true;
  }

  /** The pause heard of lately that covers the job's fire due at `dueMs`, if any. */
  pausedAt(jobId: string, dueMs: number): Omit<Pause, 'pausedAtMs'> | undefined {
    const notice = this.notices.get(jobId);
    if (!notice) return undefined;
    if (this.now() - notice.heardAtMs > NOTICE_TTL_MS) {
      this.notices.delete(jobId);
      return undefined;
    }
    return notice.pause.untilMs === undefined || notice.pause.untilMs > dueMs ? notice.pause : undefined;
  }

  private prune(): void {
    const now = this.now();
    for (const [id, notice] of this.notices) if (now - notice.heardAtMs > NOTICE_TTL_MS) this.notices.delete(id);
  }
}

// Timed wake-ups of the fetch loops: one timer per queue and instant at which queued runs become
// claimable (src/queue/ahead.ts), deduplicated, on the clock fires are judged by.
//
// The wake-up comes MARGIN_MS after that instant: a fetch even a millisecond early finds nothing (the
// database compares `start_after` with its own clock, which this agent's estimate of it may be a
// millisecond off, and a timer may expire early by the event loop's cached clock). Runs left behind
// that way would be claimed only at the next wake-up, at their due time: 100 ms late. Claiming a few
// milliseconds later costs nothing, as runs claimed ahead are held until they are due.

/** How long after the claimable instant the fetch goes out. */
export const MARGIN_MS = 5;

export class WakeTimes {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly now: () => number;
  private readonly wake: (queue: string) => void;

  constructor(now: () => number, wake: (queue: string) => void) {
    this.now = now;
    this.wake = wake;
  }

  at(queue: string, ms: number): void {
    const key = `${queue}@${ms}`;
    if (this.timers.has(key)) return;
    this.arm(key, queue, ms + MARGIN_MS);
  }

  private arm(key: string, queue: string, atMs: number): void {
    const timer = setTimeout(() => {
      if (this.now() < atMs) return this.arm(key, queue, atMs); // early: the event loop's cached clock
      this.timers.delete(key);
      this.wake(queue);
    }, Math.max(0, Math.ceil(atMs - this.now())));
    timer.unref();
    this.timers.set(key, timer);
  }

  get size(): number {
    return this.timers.size;
  }

  clear(): void {
    for (const timer of this.timers.values()) clearTimeout(timer);
    this.timers.clear();
  }
}

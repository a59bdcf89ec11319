// Timed wake-ups of the fetch loops: one timer per queue and instant at which queued runs become
// claimable (src/queue/ahead.ts), deduplicated, on the clock fires are judged by.

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
    const timer = setTimeout(() => {
      this.timers.delete(key);
      this.wake(queue);
    }, Math.max(0, ms - this.now()));
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

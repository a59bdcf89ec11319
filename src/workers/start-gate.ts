// Runs claimed ahead of their time (src/queue/ahead.ts) wait here until it, grouped by instant: one
// timer per instant releases every run due then in one callback, so that no run waits behind the
// process spawns of the others (a timer that expires a millisecond later would run in the next turn
// of the event loop, after them). Timers can fire early by the event loop's cached clock: the
// instant is checked again before the runs are released.

interface Slot {
  timer: NodeJS.Timeout;
  waiters: Set<() => void>;
}

export class StartGate {
  private readonly slots = new Map<number, Slot>();
  private readonly now: () => number;

  constructor(now: () => number) {
    this.now = now;
  }

  /** Resolves at `atMs` (at once if it has passed); rejects with the signal's reason if it is aborted first. */
  until(atMs: number, signal: AbortSignal): Promise<void> {
    if (atMs <= this.now()) return Promise.resolve();
    if (signal.aborted) return Promise.reject(signal.reason as Error);
    return new Promise((resolve, reject) => {
      let slot = this.slots.get(atMs);
      if (!slot) {
        slot = { timer: this.arm(atMs), waiters: new Set() };
        this.slots.set(atMs, slot);
      }
      const current = slot;
      const release = () => {
        signal.removeEventListener('abort', abort);
        resolve();
      };
      const abort = () => {
        current.waiters.delete(release);
        if (current.waiters.size === 0 && this.slots.get(atMs) === current) {
          clearTimeout(current.timer);
          this.slots.delete(atMs);
        }
        reject(signal.reason as Error);
      };
      current.waiters.add(release);
      signal.addEventListener('abort', abort, { once: true });
    });
  }

  get waiting(): number {
    let n = 0;
    for (const slot of this.slots.values()) n += slot.waiters.size;
    return n;
  }

  private arm(atMs: number): NodeJS.Timeout {
    return setTimeout(() => this.open(atMs), Math.max(1, Math.ceil(atMs - this.now())));
  }

  private open(atMs: number): void {
    const slot = this.slots.get(atMs);
    if (!slot) return;
    if (atMs > this.now()) {
      slot.timer = this.arm(atMs);
      return;
    }
    this.slots.delete(atMs);
    for (const release of slot.waiters) release();
  }
}

// Wait for a condition instead of sleeping for a fixed time.
import { setTimeout as sleep } from 'node:timers/promises';

export interface PollOptions {
  timeoutMs?: number;
  intervalMs?: number;
  /** Shown in the error when the condition is not met in time. */
  what?: string;
}

/** Calls `fn` until it returns a truthy value, and returns that value; throws after `timeoutMs`. */
export async function pollUntil<T>(fn: () => T | Promise<T>, options: PollOptions = {}): Promise<NonNullable<T>> {
  const { timeoutMs = 5_000, intervalMs = 20, what = 'condition' } = options;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn();
    if (value) return value as NonNullable<T>;
    if (Date.now() >= deadline) throw new Error(`${what} not met within ${timeoutMs}ms`);
    await sleep(intervalMs);
  }
}

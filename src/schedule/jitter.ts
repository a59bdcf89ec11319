// Jitter: a delay every replica computes alike, from a hash of (job id, nominal fire instant).

import { createHash } from 'node:crypto';

/**
 * The delay, in whole milliseconds in [0, jitterMs), before running the fire of `jobId` at
 * `fireMs`. Derived from sha256, so replicas agree and a fire's delay never changes; 0 when
 * jitterMs is under 1 ms.
 */
export function jitterDelay(jobId: string, fireMs: number, jitterMs: number): number {
  const range = Math.floor(jitterMs);
  if (!(range >= 1)) return 0;
  const digest = createHash('sha256').update(`${jobId}\u0000${fireMs}`).digest();
  // 48 bits: the modulo bias is below 2^-20 for any jitter under 2^28 ms (3 days).
  return digest.readUIntBE(0, 6) % range;
}

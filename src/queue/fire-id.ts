// Deterministic ids: every replica derives the same pg-boss job id for a fire (UUID v5, RFC 9562).

import { createHash } from 'node:crypto';
import type { JobDefinition } from '../definitions/types.ts';

/** The namespace of jobsd fire ids (a random v4 UUID, fixed forever). */
const NAMESPACE = Buffer.from('5b0a0d6c8f1e4d2a9c4e3f7b2a61d0c9', 'hex');

export function uuidV5(name: string, namespace: Buffer = NAMESPACE): string {
  const hash = createHash('sha1').update(namespace).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/** The id of the fire (job id, nominal fire time): the pg-boss job id and the ledger's run id. */
export function fireId(jobId: string, fireTimeMs: number): string {
  return uuidV5(`${jobId}@${new Date(fireTimeMs).toISOString()}`);
}

/** A one-time job's fire: an instant derived from its idempotency key, so (id, key) runs once ever. */
export function onceFireTime(def: Pick<JobDefinition, 'idempotencyKey'>): number {
  const digest = createHash('sha256').update(def.idempotencyKey ?? '').digest();
  return digest.readUIntBE(0, 5); // ms after the epoch, before ONCE_FIRES_BEFORE_MS: never a real schedule's instant
}

/** Every one-time fire's instant is before this (2^40 ms after the epoch: 2004-11-04). */
export const ONCE_FIRES_BEFORE_MS = 2 ** 40;

/** Whether a fire's instant is a one-time job's identity (see onceFireTime), not a time it was due. */
export function isOnceFire(fireTimeMs: number): boolean {
  return fireTimeMs < ONCE_FIRES_BEFORE_MS;
}

/**
 * What a run's lateness is measured from: its fire time, or, for a one-time job's fire (whose instant is an
 * identity, not a time: see onceFireTime), the time it was queued to run.
 */
export function latenessFrom(fireTimeMs: number, dueAtMs: number | undefined): number {
  return isOnceFire(fireTimeMs) && dueAtMs !== undefined ? dueAtMs : fireTimeMs;
}

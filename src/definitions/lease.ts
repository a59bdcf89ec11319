// The lease of a claimed attempt, as time math. The holder measures, on its monotonic clock, the time
// since it SENT its last renewal that the database accepted (the database stamped it later, never
// earlier); at `holdMs` past that it stops the attempt (terminates its process group, or does not start
// it). Another agent fails the attempt over only once the database's clock is `failoverMs` past the
// stamp. Between the two lies 2 × margin: the process group's SIGKILL lands inside it, and it absorbs
// the difference in clock RATE between the holder and the database over one lease (NTP keeps that
// under 500 ppm, 15 ms over 30 s). No agreement of wall clocks is assumed: each side measures an
// interval on its own clock.

export const DEFAULT_LEASE_MS = 30_000;
/** pg-boss's heartbeat is at least 10 s. */
export const MIN_LEASE_MS = 10_000;

/** The margin on each side of the lease: a sixth of it, at least 2 s. */
export function leaseMarginMs(leaseMs: number): number {
  return Math.max(2_000, Math.round(leaseMs / 6));
}

/** How long after the last accepted renewal was sent the holder keeps the attempt. */
export function holdMs(leaseMs: number): number {
  return leaseMs - leaseMarginMs(leaseMs);
}

/** pg-boss's heartbeat_seconds: the database fails the attempt over this long after its last renewal. */
export function failoverSeconds(leaseMs: number): number {
  return Math.ceil((leaseMs + leaseMarginMs(leaseMs)) / 1000);
}

/**
 * How often the holder renews: often enough that two renewals in a row may fail (a database restart)
 * and the third still lands before `holdMs`.
 */
export function renewEveryMs(leaseMs: number): number {
  return Math.max(1_000, Math.min(5_000, Math.floor(holdMs(leaseMs) / 4)));
}

/** How long the holder's SIGTERM may wait for the group before SIGKILL when the lease is lost. */
export function lostLeaseKillGraceMs(leaseMs: number, killGraceMs: number): number {
  return Math.min(killGraceMs, Math.floor(leaseMarginMs(leaseMs) / 2));
}

/**
 * The longest lease whose failover comes no earlier than `heartbeatSeconds` (the inverse of
 * failoverSeconds): a run queued by an older version carries a shorter heartbeat than its job's lease,
 * and its holder must stop by that one.
 */
export function leaseWithin(heartbeatSeconds: number): number {
  const failoverMs = heartbeatSeconds * 1000;
  return failoverMs <= 14_000 ? failoverMs - 2_000 : Math.floor((failoverMs * 6) / 7);
}

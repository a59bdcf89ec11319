// The reason a claim is aborted when its lease ran out on the holder's clock (src/workers/fetch-loop.ts):
// the run's process group is terminated quickly (src/definitions/lease.ts, lostLeaseKillGraceMs), and
// an attempt not yet started is not started.

import { holdMs } from '../definitions/lease.ts';

export class LeaseLost extends Error {
  readonly leaseMs: number;
  constructor(leaseMs: number, sinceRenewalMs: number) {
    super(`lease lost: no renewal accepted by the database for ${(sinceRenewalMs / 1000).toFixed(1)} s (lease ${leaseMs / 1000} s, stopped at ${holdMs(leaseMs) / 1000} s)`);
    this.name = 'LeaseLost';
    this.leaseMs = leaseMs;
  }
}

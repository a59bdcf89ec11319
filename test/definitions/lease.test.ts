// The lease's time math (src/definitions/lease.ts): the holder stops before the earliest failover, with
// room for the SIGKILL and clock-rate drift, and renews often enough that two failed renewals in a row
// still leave a third in time.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { failoverSeconds, holdMs, leaseMarginMs, leaseWithin, lostLeaseKillGraceMs, renewEveryMs } from '../../src/definitions/lease.ts';

for (const leaseMs of [10_000, 12_000, 30_000, 60_000, 120_000, 600_000]) {
  test(`lease ${leaseMs / 1000} s: stop, kill and renewals all come before the failover`, () => {
    const margin = leaseMarginMs(leaseMs);
    assert.ok(margin >= 2_000);
    const failoverMs = failoverSeconds(leaseMs) * 1000;
    const killedBy = holdMs(leaseMs) + lostLeaseKillGraceMs(leaseMs, 10_000);
    assert.ok(failoverMs - killedBy >= margin, `SIGKILL at ${killedBy} ms, failover at ${failoverMs} ms`);
    // Drift: 0.05 % of the lease is far inside what is left.
    assert.ok(failoverMs - killedBy > leaseMs * 0.0005 * 100);
    assert.ok(3 * renewEveryMs(leaseMs) < holdMs(leaseMs), 'the third renewal still lands in time');
    assert.ok(Number.isInteger(failoverSeconds(leaseMs)) && failoverSeconds(leaseMs) >= 10, "pg-boss's heartbeat is an integer >= 10");
  });
}

test('a run queued with a shorter heartbeat than its lease is held by the shorter one', () => {
  for (const seconds of [10, 12, 14, 20, 35, 70]) {
    const lease = leaseWithin(seconds);
    assert.ok(failoverSeconds(lease) <= seconds, `lease ${lease} ms within a heartbeat of ${seconds} s`);
    assert.ok(holdMs(lease) > 0);
  }
  assert.equal(failoverSeconds(leaseWithin(35)), 35, 'the default round-trips');
});

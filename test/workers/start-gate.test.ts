// Runs claimed ahead wait for their due time, and all runs due at one instant are released together.
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { StartGate } from '../../src/workers/start-gate.ts';

const START = Date.parse('2026-11-27T10:00:00.000Z');

test('runs due at one instant are released in one callback, not before it; a passed instant releases at once', async (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: START });
  t.after(() => mock.timers.reset());
  const gate = new StartGate(() => Date.now());
  const released: string[] = [];
  const signal = new AbortController().signal;
  const wait = (name: string, at: number) => gate.until(START + at, signal).then(() => released.push(`${name}@${Date.now() - START}`));
  const all = [wait('a', 100), wait('b', 100), wait('c', 150), wait('past', -5)];
  await Promise.resolve();
  assert.deepEqual(released, ['past@0']);
  mock.timers.tick(99);
  await Promise.resolve();
  assert.deepEqual(released, ['past@0'], 'not a millisecond early');
  mock.timers.tick(1);
  await Promise.all(all.slice(0, 2));
  assert.deepEqual(released, ['past@0', 'a@100', 'b@100']);
  assert.equal(gate.waiting, 1);
  mock.timers.tick(50);
  await Promise.all(all);
  assert.deepEqual(released, ['past@0', 'a@100', 'b@100', 'c@150']);
});

test('an aborted run leaves the gate at once; the others due with it are still released', async (t) => {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: START });
  t.after(() => mock.timers.reset());
  const gate = new StartGate(() => Date.now());
  const claim = new AbortController();
  const cancelled = gate.until(START + 100, claim.signal);
  const kept = gate.until(START + 100, new AbortController().signal);
  claim.abort(new Error('no longer claimed'));
  await assert.rejects(cancelled, /no longer claimed/);
  assert.equal(gate.waiting, 1);
  mock.timers.tick(100);
  await kept;
  assert.equal(gate.waiting, 0);
});

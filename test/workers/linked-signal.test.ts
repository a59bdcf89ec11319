// A run's signal follows its sources as AbortSignal.any would: the first reason wins, an aborted source
// aborts it at once, and once disposed it no longer follows them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { linkedSignal } from '../../src/workers/linked-signal.ts';

test('aborted with the reason of the first source to abort; later aborts change nothing', () => {
  const [a, b] = [new AbortController(), new AbortController()];
  const linked = linkedSignal([a.signal, undefined, b.signal]);
  assert.equal(linked.signal.aborted, false);
  const first = new Error('claim lost');
  b.abort(first);
  a.abort(new Error('given back'));
  assert.equal(linked.signal.aborted, true);
  assert.equal(linked.signal.reason, first);
});

test('a source aborted already aborts it at once, with that source\'s reason', () => {
  const a = new AbortController();
  const b = new AbortController();
  b.abort('gone');
  const linked = linkedSignal([a.signal, b.signal]);
  assert.equal(linked.signal.aborted, true);
  assert.equal(linked.signal.reason, 'gone');
});

test('abort() aborts it with its own reason (a timeout); the sources are left alone', () => {
  const a = new AbortController();
  const linked = linkedSignal([a.signal]);
  const timeout = new Error('timeout');
  linked.abort(timeout);
  assert.equal(linked.signal.reason, timeout);
  assert.equal(a.signal.aborted, false);
});

test('disposed, it no longer follows its sources (no listener is left on them)', () => {
  const a = new AbortController();
  let heard = 0;
  const linked = linkedSignal([a.signal]);
  linked.signal.addEventListener('abort', () => heard++);
  linked.dispose();
  a.abort();
  assert.equal(linked.signal.aborted, false);
  assert.equal(heard, 0);
});

test('listeners on the linked signal hear one abort, whichever source aborts', () => {
  const [a, b] = [new AbortController(), new AbortController()];
  const linked = linkedSignal([a.signal, b.signal]);
  let heard = 0;
  linked.signal.addEventListener('abort', () => heard++);
  a.abort();
  b.abort();
  assert.equal(heard, 1);
});

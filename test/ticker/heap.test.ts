import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MinHeap } from '../../src/ticker/heap.ts';

test('the heap pops in key order, ties in any order, with pushes in between', () => {
  const heap = new MinHeap<string>();
  const keys = [5, 3, 9, 1, 7, 3, 8, 2, 6, 4, 0];
  for (const k of keys) heap.push(k, `v${k}`);
  assert.equal(heap.peekKey(), 0);
  const out: number[] = [];
  for (let i = 0; i < 5; i++) out.push(heap.pop()!.key);
  heap.push(2.5, 'x');
  while (heap.size) out.push(heap.pop()!.key);
  assert.deepEqual(out, [0, 1, 2, 3, 3, 2.5, 4, 5, 6, 7, 8, 9]);
  assert.equal(heap.pop(), undefined);
});

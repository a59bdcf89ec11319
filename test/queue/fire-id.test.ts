import assert from 'node:assert/strict';
import { test } from 'node:test';
import { fireId, latenessFrom, onceFireTime, uuidV5 } from '../../src/queue/fire-id.ts';

test('uuidV5 matches the RFC 9562 test vector (DNS namespace, www.example.com)', () => {
  const dns = Buffer.from('6ba7b8109dad11d180b400c04fd430c8', 'hex');
  assert.equal(uuidV5('www.example.com', dns), '2ed6657d-e927-568b-95e1-2665a8aea6a2');
});

test('fire ids are stable per (job, instant) and differ otherwise', () => {
  const t = Date.parse('2026-11-23T00:00:00Z');
  assert.equal(fireId('a', t), fireId('a', t));
  assert.notEqual(fireId('a', t), fireId('a', t + 1000));
  assert.notEqual(fireId('a', t), fireId('b', t));
  assert.match(fireId('a', t), /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
});

test("lateness is counted from the fire time, or from when a one-time job's fire was queued (its instant is an identity)", () => {
  const t = Date.parse('2026-11-23T00:00:00Z');
  assert.equal(latenessFrom(t, t + 1_500), t, 'a scheduled fire: from its time (jitter included)');
  const once = onceFireTime({ idempotencyKey: 'v1' });
  assert.ok(once < Date.parse('2004-11-05T00:00:00Z'));
  assert.equal(latenessFrom(once, t), t, 'a one-time fire: from when it was queued');
  assert.equal(latenessFrom(once, undefined), once, 'unknown when it was queued: the fire time');
});

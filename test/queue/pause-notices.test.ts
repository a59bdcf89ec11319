// The pause notices an agent hears on the queue's channel: which held runs they stop, and for how long.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { NOTICE_TTL_MS, PauseNotices, pausedPayload, resumedPayload } from '../../src/queue/pause-notices.ts';

test('a pause notice covers the fires due before its end, for a short while; a resume notice ends it; queue payloads are left alone', () => {
  let now = 1_000_000;
  const notices = new PauseNotices(() => now);
  assert.equal(notices.heard('jobsd-allow'), false, 'a queue name is a wake, not a notice');
  assert.equal(notices.heard('jobsd-allow@1000,2000'), false);
  assert.equal(notices.heard(pausedPayload({ jobId: 'a', by: 'operator', reason: 'maintenance', untilMs: now + 5_000 })), true);
  assert.equal(notices.heard(pausedPayload({ jobId: 'b', by: 'pause_after_failures' })), true);
  assert.deepEqual(notices.pausedAt('a', now + 1_000), { jobId: 'a', by: 'operator', reason: 'maintenance', untilMs: now + 5_000 });
  assert.equal(notices.pausedAt('a', now + 5_000), undefined, 'due at its end: runs');
  assert.equal(notices.pausedAt('c', now), undefined);
  assert.equal(notices.heard(resumedPayload('b')), true);
  assert.equal(notices.pausedAt('b', now), undefined, 'resumed');
  now += NOTICE_TTL_MS + 1;
  assert.equal(notices.pausedAt('a', now), undefined, 'a notice is for the runs held when it came, not for later ones');
  assert.equal(notices.heard('jobsd-paused:{not json'), true, 'malformed: ignored, not a crash');
});

// The dispatch lease's notifications (src/queue/dispatch-notice.ts), pinned both ways: what a holder
// sends is what a standby reads, a list too long for PostgreSQL's payload limit falls back to "decided
// when due", and a takeover's short form names the new holder.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { confirmationPayload, DISPATCH_PREFIX, parseNotice } from '../../src/queue/dispatch-notice.ts';

test('a confirmation reads back as it was sent, the holder name escaped', () => {
  const payload = confirmationPayload('agent a/1', 7, '0badc0de.h3', {
    range: { fromMs: 1_000, toMs: 2_000 },
    decided: [{ jobId: 'x', fireTimeMs: 1_500 }],
    undecided: [{ jobId: 'y', fireTimeMs: 1_900 }, { jobId: 'z', fireTimeMs: 2_000 }],
  });
  assert.equal(payload, '!dispatch agent%20a%2F1 7 0badc0de.h3 1000~2000 x:1500 y:1900,z:2000');
  assert.deepEqual(parseNotice(payload), {
    holder: 'agent a/1',
    token: 7,
    digest: '0badc0de.h3',
    range: { fromMs: 1_000, toMs: 2_000 },
    decided: new Set(['x:1500']),
    undecided: new Set(['y:1900', 'z:2000']),
  });
});

test('lists past the payload limit are left out: every fire of the range is decided when due', () => {
  const many = Array.from({ length: 2_000 }, (_, i) => ({ jobId: `job-${i}`, fireTimeMs: 1_000 }));
  const payload = confirmationPayload('a', 1, 'd', { range: { fromMs: 1_000, toMs: 1_000 }, decided: many, undecided: [] });
  assert.ok(payload.length < 8_000, 'under PostgreSQL\'s limit');
  const notice = parseNotice(payload)!;
  assert.equal(notice.undecided, 'all');
  assert.equal(notice.decided.size, 0);
});

test("a takeover's notice names the holder and token only; other payloads are not notices", () => {
  assert.deepEqual(parseNotice(`${DISPATCH_PREFIX}b 8`), { holder: 'b', token: 8, digest: '', decided: new Set(), undecided: new Set() });
  assert.equal(parseNotice('queue@1000,2000'), undefined, "a wake-up's payload");
  assert.equal(parseNotice(`${DISPATCH_PREFIX}b not-a-token`), undefined);
});

// The secret registry scrubs with every known secret, linear in the text once there are many of them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allSecrets, knownSecrets, redactDeep, registerSecrets, scrubText } from '../../src/redact.ts';

test('with many secrets registered, each is replaced wherever it appears, the longest match first', () => {
  const many = Array.from({ length: 50 }, (_, i) => `tok-${String(i).padStart(4, '0')}-secret`);
  registerSecrets(many);
  registerSecrets(['tok-0007-secret-and-more']);
  const text = `a tok-0003-secret b tok-0007-secret-and-more c tok-0049-secretX tok-00`;
  assert.equal(scrubText(text, knownSecrets()), 'a [redacted] b [redacted] c [redacted]X tok-00');
  assert.deepEqual(redactDeep({ out: 'x tok-0010-secret' }, allSecrets(['other-job-secret'])), { out: 'x [redacted]' });
  assert.equal(scrubText('other-job-secret!', knownSecrets()), '[redacted]!');
});

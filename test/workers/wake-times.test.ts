// Timed wake-ups of the fetch loops: after the claimable instant by a margin (a fetch even a millisecond
// early finds nothing, and its runs would wait for the next wake-up), once per queue and instant.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MARGIN_MS, WakeTimes } from '../../src/workers/wake-times.ts';
import { pollUntil } from '../helpers/poll.ts';

test('a wake-up comes MARGIN_MS after the instant, by the given clock, once per queue and instant', async () => {
  // A clock 40 ms behind the local one (the database's, say): the wake-up follows it, not Date.now().
  const now = () => Date.now() - 40;
  const woken: Array<[string, number]> = [];
  const wakes = new WakeTimes(now, (queue) => woken.push([queue, now()]));
  const at = now() + 30;
  wakes.at('allow', at);
  wakes.at('allow', at);
  wakes.at('skip', at);
  await pollUntil(() => woken.length >= 2, { timeoutMs: 2_000, what: 'two wake-ups' });
  assert.deepEqual(woken.map(([q]) => q).sort(), ['allow', 'skip']);
  for (const [queue, ms] of woken) assert.ok(ms >= at + MARGIN_MS, `${queue} woken ${at + MARGIN_MS - ms} ms early`);
  assert.equal(wakes.size, 0);
});

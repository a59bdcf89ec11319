import assert from 'node:assert/strict';
import { mock, test, type TestContext } from 'node:test';
import type { JobDefinition } from '../../src/definitions/types.ts';
import { Ticker, type Fire } from '../../src/ticker/ticker.ts';
import { commandJob, memoryLogger } from '../helpers/definitions.ts';

const START = Date.parse('2026-11-23T10:00:00.000Z');

function every(id: string, seconds: number, extra: { enabled?: boolean } = {}): JobDefinition {
  const def = commandJob({ id, ...extra });
  return { ...def, schedule: { ...def.schedule, trigger: { kind: 'every', intervalMs: seconds * 1000, anchorMs: 0 } } };
}

function setup() {
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: START });
  const fired: string[] = [];
  const ticker = new Ticker({
    now: () => Date.now(),
    dispatch: (f: Fire) => fired.push(`${f.definition.id}@${(f.fireTimeMs - START) / 1000}`),
    logger: memoryLogger().logger,
  });
  ticker.start();
  return { ticker, fired };
}

/** A started ticker on mocked timers that hands fires over `leadMs` ahead, recording each fire dispatched, recalled, or found late. */
function handingOver(t: TestContext, leadMs: number) {
  t.after(() => mock.timers.reset());
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: START });
  const fires: Fire[] = [];
  const recalled: Fire[] = [];
  const late = mock.fn();
  const ticker = new Ticker({ now: () => Date.now(), dispatch: (f) => fires.push(f), recall: (f) => recalled.push(f), late, leadMs: () => leadMs, logger: memoryLogger().logger });
  ticker.start();
  return { ticker, fires, recalled, late };
}

test('one timer fires every due job at its time, in order, and keeps going', (t) => {
  t.after(() => mock.timers.reset());
  const { ticker, fired } = setup();
  ticker.upsert(every('a', 1));
  ticker.upsert(every('b', 2));
  mock.timers.tick(4000);
  const byTime = (x: string) => Number(x.split('@')[1]);
  assert.deepEqual(fired.map(byTime), [1, 2, 2, 3, 4, 4], 'in time order');
  assert.deepEqual([...fired].sort(), ['a@1', 'a@2', 'a@3', 'a@4', 'b@2', 'b@4']);
  ticker.stop();
});

test('reload: a changed job fires on its new schedule from now, a removed or disabled one stops', (t) => {
  t.after(() => mock.timers.reset());
  const { ticker, fired } = setup();
  ticker.upsert(every('a', 1));
  ticker.upsert(every('b', 1));
  mock.timers.tick(1000);
  ticker.upsert(every('a', 3));
  ticker.remove('b');
  mock.timers.tick(5000);
  assert.deepEqual(fired, ['a@1', 'b@1', 'a@3', 'a@6']);
  ticker.upsert(every('a', 3, { enabled: false }));
  mock.timers.tick(10_000);
  assert.deepEqual(fired, ['a@1', 'b@1', 'a@3', 'a@6']);
  assert.equal(ticker.nextFires().size, 0);
});

test('a fire that is due while the timer was late is still dispatched once, with its nominal time', (t) => {
  t.after(() => mock.timers.reset());
  const { ticker, fired } = setup();
  ticker.upsert(every('a', 10));
  mock.timers.setTime(START + 15_000); // the clock jumped past the fire; the timer wakes once
  mock.timers.tick(0);
  mock.timers.tick(10_000);
  assert.deepEqual(fired, ['a@10', 'a@20']);
});

test('a fire found long past due goes to catch-up once, and the job is scheduled from now', (t) => {
  t.after(() => mock.timers.reset());
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: START });
  const fired: number[] = [];
  const late: [number, number][] = [];
  const ticker = new Ticker({
    now: () => Date.now(),
    dispatch: (f) => fired.push((f.fireTimeMs - START) / 1000),
    late: (_def, since, now) => late.push([(since + 1 - START) / 1000, (now - START) / 1000]),
    logger: memoryLogger().logger,
  });
  ticker.start();
  ticker.upsert(every('a', 1));
  mock.timers.tick(1000);
  mock.timers.setTime(START + 60_000); // paused for a minute
  mock.timers.tick(0);
  mock.timers.tick(2000);
  assert.deepEqual(fired, [1, 61, 62]);
  assert.deepEqual(late, [[2, 60]], 'the missed fires from 2 s to 60 s are handed to catch-up in one call');
});

test("an edit between a fire's nominal time and its jittered due time does not lose the fire", async (t) => {
  t.after(() => mock.timers.reset());
  const { ticker, fired } = setup();
  const { jitterDelay } = await import('../../src/schedule/jitter.ts');
  const jittered = (id: string) => {
    const def = every(id, 10);
    return { ...def, schedule: { ...def.schedule, jitterMs: 5000 } };
  };
  const delay = jitterDelay('j', START + 10_000, 5000);
  assert.ok(delay > 100, 'the chosen id has a jitter worth testing');
  ticker.upsert(jittered('j'));
  mock.timers.tick(10_000 + delay / 2); // past the nominal time, before the due time
  ticker.upsert({ ...jittered('j'), description: 'edited' });
  mock.timers.tick(delay);
  assert.deepEqual(fired.filter((f) => f !== 'j@0'), ['j@10'], 'once (the fire at 0, due after the first load, may fire too)');
});

test('a job loaded after a fire\'s nominal time but before its jittered due time fires it when due, and not one already due', async (t) => {
  t.after(() => mock.timers.reset());
  const { ticker, fired } = setup();
  const { jitterDelay } = await import('../../src/schedule/jitter.ts');
  const def = every('j', 10);
  const jittered = { ...def, schedule: { ...def.schedule, jitterMs: 9000 } };
  const delay = jitterDelay('j', START + 10_000, 9000);
  assert.ok(delay > 200, 'the chosen id has a jitter worth testing');
  mock.timers.tick(10_000 + delay / 2); // the agent starts here: past the nominal time, before the due time
  ticker.upsert(jittered);
  mock.timers.tick(delay / 2 - 1);
  assert.deepEqual(fired, [], 'not before its due time');
  mock.timers.tick(2);
  assert.deepEqual(fired, ['j@10'], 'the fire at 0 was due before the load: the catch-up decides it, not the ticker');
});

test('a job with a lead is dispatched that long before its fire, with its fire and due times unchanged', (t) => {
  t.after(() => mock.timers.reset());
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: START });
  const fires: Fire[] = [];
  const late = mock.fn();
  const ticker = new Ticker({
    now: () => Date.now(),
    dispatch: (f) => fires.push(f),
    late,
    leadMs: (def) => (def.id === 'ahead' ? 500 : 0),
    logger: memoryLogger().logger,
  });
  ticker.start();
  ticker.upsert(every('ahead', 10));
  ticker.upsert(every('on-time', 10));
  mock.timers.tick(9_499);
  assert.equal(fires.length, 0);
  mock.timers.tick(1);
  assert.deepEqual(fires.map((f) => [f.definition.id, f.fireTimeMs - START, f.dueAtMs - START]), [['ahead', 10_000, 10_000]]);
  mock.timers.tick(500);
  assert.deepEqual(fires.map((f) => f.definition.id), ['ahead', 'on-time']);
  mock.timers.tick(9_500);
  assert.deepEqual(fires.map((f) => `${f.definition.id}@${(f.fireTimeMs - START) / 1000}`), ['ahead@10', 'on-time@10', 'ahead@20']);
  assert.equal(late.mock.callCount(), 0, 'a fire dispatched ahead is not late');
  ticker.stop();
});

test('a fire dispatched ahead is recalled when its job is edited or removed before it is due, and re-dispatched on the new schedule', (t) => {
  t.after(() => mock.timers.reset());
  mock.timers.enable({ apis: ['setTimeout', 'Date'], now: START });
  const fires: string[] = [];
  const recalled: string[] = [];
  const ticker = new Ticker({
    now: () => Date.now(),
    dispatch: (f) => fires.push(`${f.definition.hash}@${(f.fireTimeMs - START) / 1000}`),
    recall: (f) => recalled.push(`${f.definition.hash}@${(f.fireTimeMs - START) / 1000}`),
    leadMs: () => 500,
    logger: memoryLogger().logger,
  });
  ticker.start();
  const v = (hash: string, seconds: number) => ({ ...every('job', seconds), hash });
  ticker.upsert(v('v1', 10));
  mock.timers.tick(9_600); // the fire at 10 s went out at 9.5 s
  assert.deepEqual(fires, ['v1@10']);
  ticker.upsert(v('v1', 10)); // the same definition (a rescan): nothing to take back
  mock.timers.tick(0);
  assert.deepEqual(recalled, []);
  ticker.upsert(v('v2', 5)); // edited: 10 s is on the new schedule too
  mock.timers.tick(0);
  assert.deepEqual(recalled, ['v1@10']);
  assert.deepEqual(fires, ['v1@10', 'v2@10'], 'dispatched again with the new definition (not again for the same one)');
  mock.timers.tick(5_000); // 14.6 s: the fire at 15 s went out at 14.5 s
  ticker.upsert(v('v3', 7)); // 15 s is not on the new schedule: taken back only
  mock.timers.tick(0);
  assert.deepEqual(recalled, ['v1@10', 'v2@15']);
  assert.deepEqual(fires.slice(-1), ['v2@15']);
  const next = ticker.nextFires().get('job')!;
  mock.timers.setTime(next.dueAtMs - 400); // its fire went out 500 ms ahead
  mock.timers.tick(0);
  const v3 = `v3@${(next.fireTimeMs - START) / 1000}`;
  assert.deepEqual(fires.slice(-1), [v3]);
  ticker.remove('job');
  assert.deepEqual(recalled, ['v1@10', 'v2@15', v3], 'a removed job takes its fire back');
  ticker.stop();
});

test('fires handed over before the one before them is due are each kept, and an edit takes back every one', (t) => {
  // A command every second queued 950 ms ahead with a jitter of 800 ms: the next fire can go out while
  // the one before still waits for its due time.
  const { ticker, fires, recalled } = handingOver(t, 950);
  const job = every('jittery', 1);
  const jittery = { ...job, overlap: 'allow' as const, schedule: { ...job.schedule, jitterMs: 800 } };
  ticker.upsert(jittery);
  // Run on until two fires are out and neither is due yet.
  const outstanding = () => fires.filter((f) => f.dueAtMs > Date.now());
  for (let i = 0; i < 600 && outstanding().length < 2; i++) mock.timers.tick(10);
  const pending = outstanding();
  assert.equal(pending.length, 2, 'two fires of the job out ahead at once');
  ticker.upsert({ ...jittery, hash: 'v2' }); // edited
  mock.timers.tick(0);
  assert.deepEqual(recalled.map((f) => f.fireTimeMs), pending.map((f) => f.fireTimeMs), 'both taken back');
  const again = fires.slice(-2);
  assert.ok(again.every((f) => f.definition.hash === 'v2'), 'and dispatched again with the new definition');
  assert.deepEqual(again.map((f) => f.fireTimeMs), pending.map((f) => f.fireTimeMs));
  ticker.stop();
});


test('an edit that lowers the jitter of a fire taken back, whose new due time has passed, runs it now: it is not found late', (t) => {
  const { ticker, fires, recalled, late } = handingOver(t, 500);
  const job = every('spread', 60);
  const spread = { ...job, hash: 'v1', schedule: { ...job.schedule, jitterMs: 50_000 } };
  ticker.upsert(spread);
  const first = ticker.nextFires().get('spread')!;
  assert.ok(first.dueAtMs - first.fireTimeMs > 10_000, 'this job id jitters its fire by more than 10 s');
  mock.timers.setTime(first.dueAtMs - 400); // handed over 500 ms ahead
  mock.timers.tick(0);
  assert.equal(fires.length, 1);
  ticker.upsert({ ...spread, hash: 'v2', schedule: { ...spread.schedule, jitterMs: 0 } }); // no jitter now: due 10 s and more ago
  mock.timers.tick(0);
  assert.deepEqual(recalled.map((f) => f.fireTimeMs), [first.fireTimeMs]);
  assert.equal(late.mock.callCount(), 0, 'not handed to catch-up as if the agent had been paused');
  const again = fires.at(-1)!;
  assert.equal(again.definition.hash, 'v2');
  assert.equal(again.fireTimeMs, first.fireTimeMs, 'the same fire, with the new definition');
  assert.equal(again.dueAtMs, Date.now(), 'due now');
  ticker.stop();
});

// Issue 21: runs at a chosen time (jobsd run --at) and backfill, through the CLI, with two agents on one
// database. The command writes its own start and end marks: what ran, once, in order, is what it says.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { jobsDir, ledger, startAgent, type AgentProcess } from '../helpers/agent.ts';
import { runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';
import { freePort } from '../../src/db/embedded.ts';

const HOUR = 3_600_000;

describe('run --at and backfill', () => {
  let url: string;
  let dir: string;
  let marks: string;
  let page: string;
  const agents: AgentProcess[] = [];
  /** The top of the hour, hours ago: fires of the hourly job that no agent ran. */
  const hourAgo = (n: number) => Math.floor(Date.now() / HOUR) * HOUR - n * HOUR;
  const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');

  before(async () => {
    url = await freshDatabase('backfill');
    dir = jobsDir({});
    marks = path.join(dir, 'marks');
    writeFileSync(marks, '');
    writeFileSync(
      path.join(dir, 'hourly.yaml'),
      `schedule: "0 * * * *"\ntask: { type: command, command: 'echo "start $JOBSD_FIRE_TIME" >> ${marks}; sleep 0.3; echo "end $JOBSD_FIRE_TIME" >> ${marks}' }\n`,
    );
    const port = await freePort();
    page = `http://127.0.0.1:${port}/`;
    agents.push(await startAgent({ name: 'ba', jobsDir: dir, databaseUrl: url, args: ['--http', `127.0.0.1:${port}`] }));
    agents.push(await startAgent({ name: 'bb', jobsDir: dir, databaseUrl: url }));
  });
  after(async () => {
    await Promise.all(agents.map((a) => a.stop()));
  });

  const cli = (...args: string[]) => runCli([...args, '--database-url', url, '--jobs-dir', dir]);
  const lines = () => readFileSync(marks, 'utf8').split('\n').filter(Boolean);
  const startsOf = (ms: number) => lines().filter((l) => l === `start ${new Date(ms).toISOString()}`).length;

  it('run --at runs under that fire (JOBSD_FIRE_TIME is it), is refused once it succeeded, and --force runs it again', async () => {
    const at = hourAgo(20);
    const first = await cli('run', 'hourly', '--at', iso(at), '--wait', '--json');
    assert.equal(first.code, 0, first.stderr);
    assert.equal(JSON.parse(first.stdout).fire_time, new Date(at).toISOString());
    assert.equal(startsOf(at), 1);
    const row = (await ledger(url, 'hourly')).find((r) => r.fire_time.getTime() === at);
    assert.equal(row?.state, 'succeeded');
    assert.equal(row?.manual, true);

    const again = await cli('run', 'hourly', '--at', iso(at));
    assert.equal(again.code, 1);
    assert.match(again.stderr, new RegExp(`^hourly: not run: the fire of ${new Date(at).toISOString()} succeeded at \\d{4}-.+; --force runs it again\\n$`));
    assert.equal(startsOf(at), 1);

    const forced = await cli('run', 'hourly', '--at', iso(at), '--force', '--wait');
    assert.equal(forced.code, 0, forced.stderr);
    assert.equal(startsOf(at), 2);
    assert.equal((await ledger(url, 'hourly')).filter((r) => r.fire_time.getTime() === at).length, 1, 'one ledger row per fire');
  });

  it('a backfill runs each fire without a success once, oldest first, one at a time; --dry-run lists them', async () => {
    const from = hourAgo(8);
    const to = hourAgo(4);
    const done = await cli('run', 'hourly', '--at', iso(hourAgo(6)), '--wait');
    assert.equal(done.code, 0, done.stderr);

    const dry = await cli('backfill', 'hourly', '--from', iso(from), '--to', iso(to), '--dry-run');
    assert.equal(dry.code, 0, dry.stderr);
    const listed = [8, 7, 5, 4].map((n) => `${new Date(hourAgo(n)).toISOString()}  no record`);
    assert.deepEqual(dry.stdout.trim().split('\n'), listed);
    assert.match(dry.stderr, /5 fire\(s\) .*: 4 to run, 1 succeeded already \(dry run: nothing queued\)/);
    assert.equal(startsOf(hourAgo(8)), 0);

    const run = await cli('backfill', 'hourly', '--from', iso(from), '--to', iso(to), '--wait');
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stderr, /^4\/4 {2}.+ succeeded$/m);
    assert.match(run.stderr, /done: 4 succeeded, 0 not/);
    for (const n of [8, 7, 5, 4]) assert.equal(startsOf(hourAgo(n)), 1, `fire ${n} h ago ran once`);
    assert.equal(startsOf(hourAgo(6)), 1, 'the fire that had succeeded was not run again');
    // One at a time, oldest first: each start follows the previous end.
    const order = lines().filter((l) => [8, 7, 5, 4].some((n) => l.endsWith(new Date(hourAgo(n)).toISOString())));
    assert.deepEqual(order, [8, 7, 5, 4].flatMap((n) => [`start ${new Date(hourAgo(n)).toISOString()}`, `end ${new Date(hourAgo(n)).toISOString()}`]));
    const rows = (await ledger(url, 'hourly')).filter((r) => r.fire_time.getTime() >= from && r.fire_time.getTime() <= to);
    assert.deepEqual(rows.map((r) => r.state), ['succeeded', 'succeeded', 'succeeded', 'succeeded', 'succeeded']);
    assert.deepEqual(rows.map((r) => (r as { backfill?: boolean }).backfill), [true, true, false, true, true]);

    const nothing = await cli('backfill', 'hourly', '--from', iso(from), '--to', iso(to));
    assert.equal(nothing.code, 0, nothing.stderr);
    assert.match(nothing.stderr, /0 to run, 5 succeeded already/);
  });

  it('two backfills of one range at once run each fire exactly once', async () => {
    const from = hourAgo(14);
    const to = hourAgo(10);
    const both = Promise.all([cli('backfill', 'hourly', '--from', iso(from), '--to', iso(to), '--wait'), cli('backfill', 'hourly', '--from', iso(from), '--to', iso(to), '--wait')]);
    // The status page shows a backfill in progress while it runs.
    const shown = await pollUntil(async () => /<strong>backfill of hourly<\/strong> [^<]*: \d\/5 done/.exec(await (await fetch(page)).text()), { timeoutMs: 20_000, what: 'the backfill on the status page' });
    assert.ok(shown);
    const [a, b] = await both;
    assert.equal(a.code, 0, a.stderr);
    assert.equal(b.code, 0, b.stderr);
    for (const n of [14, 13, 12, 11, 10]) assert.equal(startsOf(hourAgo(n)), 1, `fire ${n} h ago ran once: ${lines().join(' | ')}`);
  });
});

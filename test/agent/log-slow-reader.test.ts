// A reader of the agent's log that stops reading (a container runtime's log driver, the journal under load,
// a pipe to a log shipper that hangs) must not delay a single fire: the agent keeps what it cannot write
// yet up to a bound, drops the rest, counts what it dropped (jobsd_log_lines_dropped_total) and says how
// many lines it dropped once the reader reads again.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { freePort } from '../../src/db/embedded.ts';
import { jobsDir, startAgent } from '../helpers/agent.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';

const MARKERS = 5;
/** Lines the noisy job prints each second (each one a log line of about 200 bytes): about 2 MB of log a second. */
const NOISE_LINES = 10_000;
/** A fire that starts this late is a fire the log delayed. */
const LATE_MS = 500;

interface Mark {
  job: string;
  fireMs: number;
  lateMs: number;
}

function marks(file: string): Mark[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .filter((l) => l.split(' ').length === 3)
    .map((l) => {
      const [job, fire, ns] = l.split(' ') as [string, string, string];
      const fireMs = Date.parse(fire);
      return { job, fireMs, lateMs: Number(BigInt(ns) / 1000n) / 1000 - fireMs };
    });
}

async function droppedTotal(base: string): Promise<number | undefined> {
  const text = await (await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(2_000) })).text();
  const value = /^jobsd_log_lines_dropped_total (\d+)$/m.exec(text)?.[1];
  return value === undefined ? undefined : Number(value);
}

test('a log reader that stops reading delays no fire; the dropped lines are counted and reported', { timeout: 120_000 }, async (t) => {
  const out = mkdtempSync(path.join(tmpdir(), 'jobsd-slow-reader-'));
  const file = path.join(out, 'marks');
  const files: Record<string, string> = {
    // Its output is logged line by line: it fills the pipe, then the agent's buffer, within a few seconds.
    'noisy.yaml': `schedule: every 1s\noverlap: allow\ntask: { type: command, command: ["seq", "-f", "noise %06g ${'.'.repeat(60)}", "1", "${NOISE_LINES}"] }\n`,
  };
  // Each run writes its own start, by its own clock, next to its fire time.
  for (let i = 0; i < MARKERS; i++) {
    files[`mark-${i}.yaml`] = `schedule: every 1s\noverlap: allow\ntask: { type: command, command: 'echo "$JOBSD_JOB_ID $JOBSD_FIRE_TIME $(date +%s%N)" >> ${file}' }\n`;
  }
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  const agent = await startAgent({ name: 'slow-reader', jobsDir: jobsDir(files), databaseUrl: await freshDatabase('slow-reader'), args: ['--http', `127.0.0.1:${port}`], env: { JOBSD_LOG_LEVEL: 'info' } });
  t.after(() => agent.stop('SIGKILL'));
  await pollUntil(() => agent.logs.some((l) => l.job === 'noisy' && l.stream === 'stdout') && marks(file).length >= MARKERS, { timeoutMs: 20_000, what: 'the jobs running' });

  // The reader stops: the pipe fills (64 KiB) within moments, the agent's buffer (a few MiB) within seconds.
  agent.child.stdout!.pause();
  const pausedMs = Date.now();
  const from = Math.ceil(pausedMs / 1000) * 1000 + 2_000;
  const to = from + 5_000;
  await pollUntil(() => marks(file).some((m) => m.fireMs > to), { timeoutMs: 20_000, what: `the runs due up to ${Math.round((to - pausedMs) / 1000)} s after the log's reader stopped reading` });
  const window = marks(file).filter((m) => m.fireMs >= from && m.fireMs <= to);
  assert.equal(window.length, MARKERS * ((to - from) / 1000 + 1), 'every fire of the window ran');
  const late = window.filter((m) => m.lateMs > LATE_MS);
  assert.deepEqual(late, [], `fires started more than ${LATE_MS} ms late while the log's reader did not read`);
  process.stderr.write(`# max lateness while paused: ${Math.max(...window.map((m) => m.lateMs)).toFixed(1)} ms\n`);
  const dropped = await droppedTotal(base);
  assert.ok(dropped !== undefined && dropped > 0, `jobsd_log_lines_dropped_total while the reader does not read: ${dropped}`);

  // The reader reads again: the agent says how many lines it dropped, and the metric agrees.
  const seen = agent.logs.length;
  agent.child.stdout!.resume();
  const reports = await pollUntil(() => {
    const found = agent.logs.slice(seen).filter((l) => l.msg === 'log lines dropped');
    return found.length > 0 ? found : undefined;
  }, { timeoutMs: 20_000, what: 'a "log lines dropped" line once the reader reads again' });
  const reported = reports.reduce((n, l) => n + (l.dropped as number), 0);
  assert.ok(reported >= dropped, `lines reported dropped (${reported}) include those counted while paused (${dropped})`);
  assert.equal(reports[0]!.level, 40, 'a warning');
  assert.equal(await droppedTotal(base), reported, 'the metric counts the lines reported dropped');

  // What was kept is in order: each noisy run's lines by their number.
  const byRun = new Map<string, number[]>();
  for (const l of agent.logs) {
    if (l.job !== 'noisy' || l.stream !== 'stdout') continue;
    const n = Number(/^noise (\d+)/.exec(l.msg as string)?.[1]);
    const numbers = byRun.get(l.run as string) ?? [];
    numbers.push(n);
    byRun.set(l.run as string, numbers);
  }
  for (const [run, numbers] of byRun) assert.ok(numbers.every((n, i) => i === 0 || n > numbers[i - 1]!), `the lines of run ${run} in order`);
});

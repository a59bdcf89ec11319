// The in-process floor of the precision benchmark's http rows: N timers in one Node process (Node's timer
// heap; no database, no exclusion, no queue), each firing every second at the second for the window, each
// fire a GET through an undici pool as jobsd's http task makes it (src/workers/http.ts). The lateness of a
// fire is taken where jobsd logs `run started`: right before the request. Prints `ready`, then, once the
// window is over and the last requests are answered, one JSON line: [{job, slotMs, startedMs}].
// Arguments: target URL, number of timers, first slot (ms since the epoch), seconds, number of the first job,
// and `per-job` (one timer per job, re-armed each second: a scheduler's timer heap) or `per-instant` (one
// timer per second releasing every GET due then in one callback, as jobsd's start gate does: the stricter floor).
import { Agent, request } from 'undici';

const [target, count, fromMs, seconds, first] = [process.argv[2]!, Number(process.argv[3]), Number(process.argv[4]), Number(process.argv[5]), Number(process.argv[6] ?? 0)];
const perInstant = process.argv[7] === 'per-instant';
const WARM_UP_MS = 2_000;
const pool = new Agent({ keepAliveTimeout: 4_000, keepAliveMaxTimeout: 60_000, connections: 16 });
const starts: Array<{ job: string; slotMs: number; startedMs: number }> = [];
const now = () => performance.timeOrigin + performance.now();
const lastSlot = fromMs + (seconds - 1) * 1000;
const requests: Array<Promise<unknown>> = [];

function get(i: number, slotMs: number): void {
  starts.push({ job: `tick-${i}`, slotMs, startedMs: now() });
  requests.push(
    request(`${target}/tick/${i}`, { dispatcher: pool, headersTimeout: 10_000, bodyTimeout: 10_000 })
      .then((res) => res.body.text())
      .catch((err: unknown) => process.stderr.write(`timer floor: ${String(err)}\n`)),
  );
}

function arm(i: number, slotMs: number): void {
  setTimeout(() => {
    // Node's loop clock may lag the wall clock: a timer that comes early waits for the rest, as a scheduler must.
    if (now() < slotMs) return arm(i, slotMs);
    get(i, slotMs);
    if (slotMs < lastSlot) arm(i, slotMs + 1000);
  }, Math.max(0, Math.ceil(slotMs - now())));
}

function armInstant(slotMs: number): void {
  setTimeout(() => {
    if (now() < slotMs) return armInstant(slotMs);
    for (let i = first; i < first + count; i++) get(i, slotMs);
    if (slotMs < lastSlot) armInstant(slotMs + 1000);
  }, Math.max(0, Math.ceil(slotMs - now())));
}

// Two seconds of warm-up before the first slot (its connections opened, its code compiled), as jobsd's
// agents fire for seconds before the window: only the window's slots are counted (bench/precision.ts).
const firstArmed = Math.max(fromMs - WARM_UP_MS, Math.ceil(now() / 1000) * 1000 + 1000);
if (perInstant) armInstant(firstArmed);
else for (let i = first; i < first + count; i++) arm(i, firstArmed);
process.stdout.write('ready\n');
setTimeout(() => {
  void Promise.all(requests).then(async () => {
    process.stdout.write(JSON.stringify(starts) + '\n');
    await pool.close();
  });
}, lastSlot - Date.now() + 1_000);

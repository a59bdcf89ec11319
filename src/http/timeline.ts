// A job's timeline: an SVG bar per run (start → end) and a tick per fire that did not run, coloured by
// state, with state, fire time, lateness and duration in each mark's hover title. Its window fits the job
// (from its oldest run shown to now) or is a chosen range: 1 h, 24 h, 7 d.
import type { FireRow } from '../db/ledger.ts';
import { isOnceFire, latenessFrom } from '../queue/fire-id.ts';
import { allSecrets, scrubText } from '../redact.ts';
import { escapeHtml, spanText } from './html.ts';

const WIDTH = 720;
const HEIGHT = 22;

/** Fill colours of the timeline's marks (not text: text shows the state's name beside its colour). */
export const STATE_COLOURS: Record<string, string> = {
  succeeded: '#2e9d4f',
  failed: '#d93b3b',
  timed_out: '#e8772e',
  partial: '#d9b02b',
  cancelled: '#7d7d7d',
  skipped: '#c4c4c4',
  missed: '#8a4fd1',
  running: '#2f7fd9',
  queued: '#8fbbe8',
  scheduled: '#8fbbe8',
};

/** The ranges a timeline can show: the job's last runs, or a fixed span back from now. */
export const RANGES = { runs: undefined, '1h': 3_600_000, '24h': 86_400_000, '7d': 7 * 86_400_000 } as const;
export type Range = keyof typeof RANGES;
/** Runs a timeline shows in the default range; at most this many per job in a fixed range (the newest). */
export const TIMELINE_RUNS = 30;
export const RANGE_RUNS_CAP = 400;

export function parseRange(raw: string | null): Range {
  return raw !== null && Object.hasOwn(RANGES, raw) ? (raw as Range) : 'runs';
}

/** When a run happened: its start, else when it was queued, else its fire time (a one-time job's fire time is an identity, not a time). */
export function ranAtMs(row: FireRow): number {
  return (row.started_at ?? row.enqueued_at ?? row.fire_time).getTime();
}

const MIN_WINDOW_MS = 10_000;

/** The window of a timeline: the range back from now, or back to the oldest of these runs (at least 10 s). */
export function timelineWindow(rows: readonly FireRow[], range: Range, nowMs: number): { fromMs: number; toMs: number } {
  const fixed = RANGES[range];
  if (fixed !== undefined) return { fromMs: nowMs - fixed, toMs: nowMs };
  const oldest = rows.length ? Math.min(...rows.map(ranAtMs)) : nowMs;
  const span = Math.max(MIN_WINDOW_MS, (nowMs - oldest) * 1.03);
  return { fromMs: nowMs - span, toMs: nowMs };
}

/** A mark's hover title: state, fire time, lateness, duration, instance, message. */
export function runTitle(row: FireRow): string {
  const fire = row.fire_time.getTime();
  const started = row.started_at?.getTime();
  const finished = row.finished_at?.getTime();
  const parts = [`${row.state}${row.manual ? ' (manual)' : row.backfill ? ' (backfill)' : ''}`, isOnceFire(fire) ? 'once' : `fire ${row.fire_time.toISOString()}`];
  if (started !== undefined && !row.manual) parts.push(`lateness ${started - latenessFrom(fire, row.due_at?.getTime())} ms`);
  if (started !== undefined && finished !== undefined) parts.push(`duration ${((finished - started) / 1000).toFixed(3)} s`);
  if (row.instance) parts.push(`on ${row.instance}`);
  const message = typeof row.result?.message === 'string' ? row.result.message : '';
  if (message) parts.push(message.slice(0, 200));
  return parts.join(' · ');
}

/** The SVG timeline of one job's runs over [fromMs, toMs]. */
export function timelineSvg(rows: readonly FireRow[], fromMs: number, toMs: number, secrets: readonly string[] = []): string {
  const x = (ms: number) => Math.max(0, Math.min(WIDTH, ((ms - fromMs) / (toMs - fromMs)) * WIDTH));
  const marks = rows.map((row) => {
    const colour = STATE_COLOURS[row.state] ?? '#999';
    const title = `<title>${escapeHtml(scrubText(runTitle(row), allSecrets(secrets)))}</title>`;
    const start = row.started_at?.getTime() ?? ranAtMs(row);
    const end = row.finished_at?.getTime() ?? (row.state === 'running' ? toMs : start);
    const x0 = x(start);
    const width = Math.max(3, x(end) - x0);
    return row.started_at !== null
      ? `<rect class="run ${row.state}" data-state="${row.state}" x="${x0.toFixed(1)}" y="3" width="${width.toFixed(1)}" height="${HEIGHT - 6}" rx="1.5" fill="${colour}">${title}</rect>`
      : `<rect class="run ${row.state}" data-state="${row.state}" x="${(x0 - 1).toFixed(1)}" y="6" width="2" height="${HEIGHT - 12}" fill="${colour}">${title}</rect>`;
  });
  const grid = Array.from({ length: 5 }, (_, i) => {
    const at = ((i + 1) * WIDTH) / 6;
    return `<line class="grid" x1="${at.toFixed(1)}" x2="${at.toFixed(1)}" y1="0" y2="${HEIGHT}"/>`;
  });
  const label = `${rows.length} runs over the last ${spanText(toMs - fromMs)}`;
  return `<svg class="timeline" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="${label}" preserveAspectRatio="none"><rect class="track" width="${WIDTH}" height="${HEIGHT}"/>${grid.join('')}${marks.join('')}</svg>`;
}

/** The timeline with its axis under it ("7 d ago" … "now"). */
export function timelineHtml(rows: readonly FireRow[], range: Range, nowMs: number, secrets: readonly string[]): string {
  const { fromMs, toMs } = timelineWindow(rows, range, nowMs);
  return `${timelineSvg(rows, fromMs, toMs, secrets)}<div class="axis" aria-hidden="true"><span>${spanText(toMs - fromMs)} ago</span><span>now</span></div>`;
}

export function legendHtml(): string {
  return Object.entries(STATE_COLOURS)
    .filter(([s]) => s !== 'scheduled')
    .map(([s, c]) => `<span><i style="background:${c}"></i>${s}</span>`)
    .join('');
}

/** A state as text beside its colour. */
export function stateHtml(state: string): string {
  return `<span class="state" data-state="${escapeHtml(state)}"><i style="background:${STATE_COLOURS[state] ?? '#999'}"></i>${escapeHtml(state)}</span>`;
}

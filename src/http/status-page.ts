// GET /: one server-rendered page, no front-end build: file errors on top, then each job with its
// schedule, next fire (in its zone and UTC), last result, and an SVG timeline of its recent runs (colour by
// state; lateness and duration in each run's hover title). It reloads itself every 10 s.
// The timeline window reaches back to the oldest of each job's last TIMELINE_RUNS runs (at most TIMELINE_HOURS).
import type { FireRow } from '../db/ledger.ts';
import type { Pause } from '../db/pauses.ts';
import type { BackfillProgress } from '../db/backfills.ts';
import { isOnceFire, latenessFrom } from '../queue/fire-id.ts';
import { formatFileError } from '../definitions/errors.ts';
import { instantView } from './api.ts';
import type { AgentView } from './view.ts';
import { describeTrigger } from '../schedule/describe.ts';
import { scrubText, allSecrets } from '../redact.ts';

export const TIMELINE_HOURS = 6;
const WIDTH = 720;
const HEIGHT = 22;

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

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function ago(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 90) return `${s} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  return `${(s / 3600).toFixed(1)} h`;
}

/** When a run happened: its start, else its fire time (a one-time job's fire time is an identity before 2005, not a time). */
function ranAtMs(row: FireRow): number {
  return (row.started_at ?? row.enqueued_at ?? row.fire_time).getTime();
}

function runTitle(row: FireRow): string {
  const fire = row.fire_time.getTime();
  const started = row.started_at?.getTime();
  const finished = row.finished_at?.getTime();
  const parts = [`${row.state}${row.manual ? ' (manual)' : ''}`, isOnceFire(fire) ? 'once' : `fire ${row.fire_time.toISOString()}`];
  if (started !== undefined && !row.manual) parts.push(`lateness ${started - latenessFrom(fire, row.due_at?.getTime())} ms`);
  if (started !== undefined && finished !== undefined) parts.push(`duration ${((finished - started) / 1000).toFixed(3)} s`);
  if (row.instance) parts.push(`on ${row.instance}`);
  const message = typeof row.result?.message === 'string' ? row.result.message : '';
  if (message) parts.push(message.slice(0, 200));
  return parts.join(' · ');
}

/** The SVG timeline of one job's runs over [fromMs, toMs]: a bar per run (start → end), a tick per fire that did not run. */
export function timelineSvg(rows: readonly FireRow[], fromMs: number, toMs: number, secrets: readonly string[] = []): string {
  const x = (ms: number) => Math.max(0, Math.min(WIDTH, ((ms - fromMs) / (toMs - fromMs)) * WIDTH));
  const marks = rows.map((row) => {
    const colour = STATE_COLOURS[row.state] ?? '#999';
    const title = `<title>${escapeHtml(scrubText(runTitle(row), allSecrets(secrets)))}</title>`;
    const start = row.started_at?.getTime() ?? row.fire_time.getTime();
    const end = row.finished_at?.getTime() ?? (row.state === 'running' ? toMs : start);
    const x0 = x(start);
    const width = Math.max(3, x(end) - x0);
    const ran = row.started_at !== null;
    return ran
      ? `<rect class="run ${row.state}" data-state="${row.state}" x="${x0.toFixed(1)}" y="3" width="${width.toFixed(1)}" height="${HEIGHT - 6}" rx="1.5" fill="${colour}">${title}</rect>`
      : `<rect class="run ${row.state}" data-state="${row.state}" x="${(x0 - 1).toFixed(1)}" y="6" width="2" height="${HEIGHT - 12}" fill="${colour}">${title}</rect>`;
  });
  const hours = Array.from({ length: 5 }, (_, i) => {
    const at = toMs - ((i + 1) * (toMs - fromMs)) / 6;
    return `<line x1="${x(at).toFixed(1)}" x2="${x(at).toFixed(1)}" y1="0" y2="${HEIGHT}" stroke="#e3e3e3"/>`;
  });
  return `<svg class="timeline" viewBox="0 0 ${WIDTH} ${HEIGHT}" width="${WIDTH}" height="${HEIGHT}" role="img" aria-label="recent runs"><rect width="${WIDTH}" height="${HEIGHT}" fill="#fafafa"/>${hours.join('')}${marks.join('')}</svg>`;
}

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.3em;margin:0 0 .2em} .meta{color:#666;margin-bottom:1em}
table{border-collapse:collapse;width:100%} th,td{text-align:left;padding:.35em .6em;border-bottom:1px solid #eee;vertical-align:top}
th{font-weight:600;color:#555;font-size:.9em} .id{font-weight:600} .desc,.utc,.msg{color:#666;font-size:.9em}
.paused{color:#8a5a00;font-size:.9em}
.backfill{margin:.5em 0;padding:.4em .6em;border-left:3px solid #2a6fdb;background:#f2f6fd}
.state{display:inline-block;padding:0 .45em;border-radius:3px;color:#fff;font-size:.85em}
.errors{background:#fdecec;border:1px solid #e5a3a3;padding:.6em 1em;margin-bottom:1em} .errors pre{margin:.2em 0;white-space:pre-wrap}
.legend span{margin-right:.8em;font-size:.85em} .legend i{display:inline-block;width:.8em;height:.8em;margin-right:.25em;vertical-align:-1px}
.disabled{opacity:.55}`;

/** Runs per job the timeline shows at most; the window shrinks to them so that short runs stay visible. */
export const TIMELINE_RUNS = 60;
const MIN_WINDOW_MS = 60_000;

function spanText(ms: number): string {
  return ms >= 5_400_000 ? `${Math.round(ms / 3_600_000)} hours` : ms >= 90_000 ? `${Math.round(ms / 60_000)} minutes` : `${Math.round(ms / 1000)} seconds`;
}

/** A paused job's marker: until when (or until resumed), by whom, why. */
function pausedNote(pause: Pause | undefined, nowMs: number): string {
  if (!pause) return '';
  const until = pause.untilMs === undefined ? 'until resumed' : `for ${ago(pause.untilMs - nowMs)} more`;
  return `<div class="paused" data-paused="true"><strong>paused</strong> ${escapeHtml(until)} · by ${escapeHtml(pause.by)}${pause.reason ? `: ${escapeHtml(pause.reason)}` : ''}</div>`;
}

export async function renderStatusPage(view: AgentView, nowMs: number): Promise<string> {
  const [last, recent, pauses, backfills] = await Promise.all([
    view.lastRuns().catch(() => new Map<string, FireRow>()),
    view.pauses().catch(() => new Map<string, Pause>()),
    view.recentRuns(nowMs - TIMELINE_HOURS * 3_600_000, 5_000).catch(() => [] as FireRow[]),
    view.backfills().catch(() => [] as BackfillProgress[]),
  ]).then(([l, p, r, b]) => [l, r, p, b] as const);
  const byJob = new Map<string, FireRow[]>();
  for (const row of recent) {
    const rows = byJob.get(row.job_id) ?? [];
    if (rows.length < TIMELINE_RUNS) byJob.set(row.job_id, [...rows, row]);
  }
  // One window for every row: back to the oldest run shown (at most TIMELINE_HOURS, at least a minute).
  const oldest = Math.min(nowMs - MIN_WINDOW_MS, ...[...byJob.values()].map((rows) => ranAtMs(rows.at(-1)!) - 2_000));
  const fromMs = Math.max(nowMs - TIMELINE_HOURS * 3_600_000, oldest);
  const errors = view.fileErrors();
  const rows = view.jobs().map((def) => {
    const next = def.enabled ? instantView(view.nextFire(def.id), def.schedule.timezone) : null;
    const run = last.get(def.id);
    const state = run ? `<span class="state" style="background:${STATE_COLOURS[run.state] ?? '#999'}">${escapeHtml(run.state)}</span>` : '—';
    const message = typeof run?.result?.message === 'string' ? scrubText(run.result.message, allSecrets(def.secrets)) : '';
    return `<tr class="job${def.enabled ? '' : ' disabled'}" data-job="${escapeHtml(def.id)}">
<td><div class="id">${escapeHtml(def.id)}</div>${def.description ? `<div class="desc">${escapeHtml(scrubText(def.description, allSecrets(def.secrets)))}</div>` : ''}</td>
<td>${escapeHtml(def.enabled ? describeTrigger(def.schedule) : `disabled · ${describeTrigger(def.schedule)}`)}${pausedNote(pauses.get(def.id), nowMs)}<div class="desc">${escapeHtml(def.task.type)} · overlap ${escapeHtml(def.overlap)}</div></td>
<td class="next">${next ? `${escapeHtml(next.local)}<div class="utc">${escapeHtml(next.utc)} UTC · in ${ago(Date.parse(next.utc) - nowMs)}</div>` : '—'}</td>
<td class="last">${state}${run ? ` <span class="utc">${ago(nowMs - ranAtMs(run))} ago</span>` : ''}${message ? `<div class="msg">${escapeHtml(message.slice(0, 160))}</div>` : ''}</td>
<td>${timelineSvg(byJob.get(def.id) ?? [], fromMs, nowMs, def.secrets)}</td>
</tr>`;
  });
  const legend = Object.entries(STATE_COLOURS)
    .filter(([s]) => s !== 'scheduled')
    .map(([s, c]) => `<span><i style="background:${c}"></i>${s}</span>`)
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="refresh" content="10">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>jobsd · ${escapeHtml(view.instance)}</title><style>${STYLE}</style></head>
<body>
<h1>jobsd</h1>
<div class="meta">${escapeHtml(view.instance)} · version ${escapeHtml(view.version)} · ${view.jobs().length} jobs · ${errors.length} file errors · ${new Date(nowMs).toISOString()} · refreshes every 10 s</div>
${backfills.map((b) => `<div class="backfill" data-backfill="${escapeHtml(b.jobId)}"><strong>backfill of ${escapeHtml(b.jobId)}</strong> ${new Date(b.fromMs).toISOString()} → ${new Date(b.toMs).toISOString()}: ${b.done}/${b.total} done${b.failed ? `, ${b.failed} failed` : ''}, started ${ago(nowMs - b.startedAtMs)} ago</div>`).join('')}
${errors.length ? `<div class="errors" id="file-errors"><strong>${errors.length} job file(s) fail to load</strong> (the last good version of each keeps running)${errors.map((e) => `<pre>${escapeHtml(formatFileError(e))}</pre>`).join('')}</div>` : ''}
<table id="jobs"><thead><tr><th>Job</th><th>Schedule</th><th>Next fire</th><th>Last result</th><th>Runs over the last ${spanText(nowMs - fromMs)} (hover for details)</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
<p class="legend">${legend}</p>
</body></html>
`;
}

// GET /jobs/:id: one job's page: its pause state and broken-file marker, schedule and file, the next 10
// fires in its zone and UTC, a timeline (`?range=`), its last runs (state, fire time, lateness, duration,
// attempts, instance, how it was started) each with its output tail and error, and its definition
// (redacted as /api/jobs/:id shows it). Secrets are scrubbed from everything shown.
import { DateTime } from 'luxon';
import type { FireRow } from '../db/ledger.ts';
import type { Pause } from '../db/pauses.ts';
import { formatFileError, type FileError } from '../definitions/errors.ts';
import type { JobDefinition } from '../definitions/types.ts';
import { isOnceFire } from '../queue/fire-id.ts';
import { allSecrets, scrubText } from '../redact.ts';
import { describeTrigger } from '../schedule/describe.ts';
import { nextFires } from '../schedule/next.ts';
import { definitionView, runView } from './api.ts';
import { durationText, escapeHtml, isUtc, pageShell, timeHtml } from './html.ts';
import { errorsByFile, shownDescription } from './job-list.ts';
import { brokenNote, pausedNote, rangeLinks } from './markers.ts';
import { legendHtml, RANGE_RUNS_CAP, RANGES, ranAtMs, stateHtml, timelineHtml, TIMELINE_RUNS, type Range } from './timeline.ts';
import type { AgentView } from './view.ts';

/** Runs the page lists, newest first. */
export const JOB_PAGE_RUNS = 50;
const NEXT_FIRES = 10;

function nextFiresHtml(def: JobDefinition, nowMs: number): string {
  if (!def.enabled) return '<p class="muted">The job is disabled: it has no fires.</p>';
  const fires = nextFires(def.schedule, nowMs, NEXT_FIRES);
  if (fires.length === 0) {
    const { trigger } = def.schedule;
    return `<p class="muted">${trigger.kind === 'once' ? 'Runs once, when the job is first loaded.' : trigger.kind === 'after' ? `Runs each time a run of ${escapeHtml(trigger.job)} ends ${escapeHtml(trigger.on.join(' or '))}.` : 'No further fires.'}</p>`;
  }
  const zone = def.schedule.timezone;
  const utcOnly = isUtc(zone);
  const local = (ms: number) => DateTime.fromMillis(ms, { zone }).toFormat('ccc yyyy-MM-dd HH:mm:ss ZZ');
  const utc = (ms: number) => DateTime.fromMillis(ms, { zone: 'UTC' }).toFormat('ccc yyyy-MM-dd HH:mm:ss');
  const rows = fires.map(
    (ms, i) => `<tr><td class="num">${i + 1}</td>${utcOnly ? '' : `<td class="nowrap">${escapeHtml(local(ms))}</td>`}<td class="nowrap">${utc(ms)}</td><td class="nowrap">${timeHtml(ms, zone, nowMs)}</td></tr>`,
  );
  return `<div class="scroll"><table id="next-fires"><thead><tr><th>#</th>${utcOnly ? '' : `<th>${escapeHtml(zone)}</th>`}<th>UTC</th><th>When</th></tr></thead><tbody>${rows.join('')}</tbody></table></div>`;
}

/** How a run was started. */
function startedBy(row: FireRow): string {
  return row.manual ? 'manual' : row.backfill ? 'backfill' : 'scheduled';
}

function runRows(def: JobDefinition, row: FireRow, nowMs: number): string {
  const run = runView(row, def.secrets); // result redacted with every secret the agent knows
  const zone = def.schedule.timezone;
  const fire = row.fire_time.getTime();
  const details = (run.result?.details ?? {}) as { output_tail?: unknown; body?: unknown; exit_code?: unknown; output_truncated?: unknown };
  const tail = typeof details.output_tail === 'string' ? details.output_tail : typeof details.body === 'string' ? details.body : '';
  const message = run.message ?? '';
  const error = row.state !== 'succeeded' && message ? message : '';
  const cells = `<tr class="run" data-run="${escapeHtml(row.run_id)}" data-state="${escapeHtml(row.state)}">
<td data-label="state">${stateHtml(row.state)}</td>
<td data-label="fire">${isOnceFire(fire) ? `once · ${timeHtml(ranAtMs(row), zone, nowMs)}` : timeHtml(fire, zone, nowMs)}</td>
<td data-label="lateness" class="num">${run.lateness_ms === null ? '—' : durationText(run.lateness_ms)}</td>
<td data-label="duration" class="num">${run.duration_seconds === null ? (row.state === 'running' && row.started_at ? `${durationText(nowMs - row.started_at.getTime())} so far` : '—') : durationText(run.duration_seconds * 1000)}</td>
<td data-label="attempts" class="num">${row.attempts}</td>
<td data-label="instance" class="nowrap">${escapeHtml(row.instance ?? '—')}</td>
<td data-label="started by">${startedBy(row)}</td>
<td data-label="result" class="msg">${escapeHtml(message.slice(0, 200))}</td>
</tr>`;
  if (!tail && !error) return cells;
  const truncated = details.output_truncated === true ? ' (truncated: the last part only)' : '';
  return `${cells}
<tr class="detail"><td colspan="8"><details><summary>output${error ? ' and error' : ''}</summary>${error ? `<div class="error"><strong>error</strong>: ${escapeHtml(error)}</div>` : ''}${tail ? `<div class="muted">output tail${truncated}</div><pre class="output" tabindex="0">${escapeHtml(tail)}</pre>` : ''}</details></td></tr>`;
}

function factsHtml(def: JobDefinition): string {
  const facts: [string, string][] = [
    ['schedule', `${def.enabled ? '' : 'disabled · '}${describeTrigger(def.schedule)}`],
    ['time zone', def.schedule.timezone],
    ['task', def.task.type],
    ['overlap', def.overlap],
    ['timeout', durationText(def.timeoutMs)],
    ['file', def.file],
  ];
  return `<dl class="facts">${facts.map(([k, v]) => `<dt>${k}</dt><dd${k === 'file' ? ' id="job-file"' : ''}>${escapeHtml(scrubText(v, allSecrets(def.secrets)))}</dd>`).join('')}</dl>`;
}

export async function renderJobPage(view: AgentView, def: JobDefinition, nowMs: number, range: Range): Promise<string> {
  const since = RANGES[range];
  const [runs, pauses, timelines] = await Promise.all([
    view.runs(def.id, JOB_PAGE_RUNS),
    view.pauses().catch(() => new Map<string, Pause>()),
    view.timelines([def.id], since === undefined ? TIMELINE_RUNS : RANGE_RUNS_CAP, since === undefined ? undefined : nowMs - since),
  ]);
  const shownRuns = runs.filter((r) => r.state !== 'scheduled');
  const errors: FileError[] = errorsByFile(view.fileErrors()).get(def.file) ?? [];
  const description = shownDescription(def);
  const pause = pauses.get(def.id);
  const definition = JSON.stringify(definitionView(def), null, 2);
  const href = (r: Range) => `/jobs/${encodeURIComponent(def.id)}${r === 'runs' ? '' : `?range=${r}`}`;
  const body = `<header><p><a href="/">← all jobs</a></p><h1 class="id">${escapeHtml(def.id)}</h1>
${description ? `<div class="desc">${escapeHtml(description)}</div>` : ''}</header>
<main>
${pausedNote(pause, nowMs) || '<div class="muted" data-paused="false">not paused</div>'}
${brokenNote(errors)}
${errors.length > 1 ? `<div class="errors">${errors.map((e) => `<pre>${escapeHtml(formatFileError(e))}</pre>`).join('')}</div>` : ''}
<div class="overview"><section><h2>Job</h2>${factsHtml(def)}</section>
<section><h2>Next fires</h2>
${nextFiresHtml(def, nowMs)}</section></div>
<h2>Timeline</h2>
${rangeLinks(range, href)}
${timelineHtml(timelines.get(def.id) ?? [], range, nowMs, def.secrets)}
<p class="legend">${legendHtml()}</p>
<h2 id="runs-heading">Runs</h2>
<p class="muted">${shownRuns.length ? `the last ${shownRuns.length} runs, newest first` : 'no runs yet'}</p>
<table id="runs" class="cards"><thead><tr><th>State</th><th>Fire</th><th>Lateness</th><th>Duration</th><th>Attempts</th><th>Instance</th><th>Started by</th><th>Result</th></tr></thead>
<tbody>
${shownRuns.map((r) => runRows(def, r, nowMs)).join('\n')}
</tbody></table>
<h2>Definition</h2>
<p class="muted">as loaded, secrets and the values of environment variables and headers hidden</p>
<pre id="definition" tabindex="0">${escapeHtml(definition)}</pre>
</main>`;
  return pageShell(`${def.id} · jobsd`, body);
}

/** The page for a job id that is not loaded. */
export function renderMissingJobPage(id: string): string {
  return pageShell('no such job · jobsd', `<header><p><a href="/">← all jobs</a></p><h1>No job "${escapeHtml(id)}"</h1></header>
<main><p>No job with this id is loaded. It may have been removed, or its file may never have loaded: the <a href="/">status page</a> lists the jobs and the file errors.</p></main>`);
}

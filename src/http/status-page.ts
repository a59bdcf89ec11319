// GET /: the status page, server-rendered, no front-end build. On top a summary (jobs failing now, fires
// missed and runs failed in the last 24 h, jobs paused, file errors, agents up), each a link to the list
// filtered by it; file errors and backfills; then the jobs matching the search (`?q=`), a page of them
// (`?page=`) with relative times (the exact instant on hover), a marker on a job whose file is broken, and
// a timeline each whose range fits the job or is chosen (`?range=1h|24h|7d`). Every database read is
// bounded by the jobs on the page or is an aggregate (src/db/status-queries.ts).
import type { BackfillProgress } from '../db/backfills.ts';
import type { FireRow, FireState } from '../db/ledger.ts';
import type { Pause } from '../db/pauses.ts';
import { FAILING_STATES, type AgentHeartbeat, type BadFires } from '../db/status-queries.ts';
import { formatFileError, type FileError } from '../definitions/errors.ts';
import type { JobDefinition } from '../definitions/types.ts';
import { allSecrets, scrubText } from '../redact.ts';
import { describeTrigger } from '../schedule/describe.ts';
import { escapeHtml, pageShell, relativeText, spanText, timeHtml } from './html.ts';
import { brokenNote, pausedNote, rangeLinks } from './markers.ts';
import { errorsByFile, FILTERS, listHref, PAGE_SIZE, selectJobs, shownDescription, type Figures, type ListQuery } from './job-list.ts';
import { legendHtml, RANGE_RUNS_CAP, RANGES, ranAtMs, stateHtml, timelineHtml, TIMELINE_RUNS, type Range } from './timeline.ts';
import type { AgentView } from './view.ts';

const DAY_MS = 86_400_000;

/** The database's answer, or `fallback` and a note that it did not answer (the page still renders). */
function orElse<T>(promise: Promise<T>, fallback: T, failed: string[], what: string): Promise<T> {
  return promise.catch((error: unknown) => {
    failed.push(`${what}: ${(error as Error).message}`);
    return fallback;
  });
}

interface Summary {
  failing: number;
  missed: number;
  failed: number;
  paused: number;
  fileErrors: number;
  agents: AgentHeartbeat[];
}

/** The summary's figures count every job: each links to the list it counts, without the search. */
function summaryHtml(s: Summary, query: ListQuery): string {
  const item = (key: string, count: number, label: string, href: string, bad: boolean) =>
    `<li class="${bad && count > 0 ? 'bad' : ''}" data-summary="${key}"><a href="${escapeHtml(href)}"${query.filter === key ? ' aria-current="true"' : ''}><span class="count">${count}</span><span class="label">${label}</span></a></li>`;
  const up = s.agents.filter((a) => !a.stale).length;
  const stale = s.agents.length - up;
  return `<ul class="summary" aria-label="summary">
${item('failing', s.failing, 'jobs failing now', listHref(query, { q: '', filter: 'failing', page: 1 }), true)}
${item('missed', s.missed, 'fires missed (24 h)', listHref(query, { q: '', filter: 'missed', page: 1 }), true)}
${item('failed', s.failed, 'runs failed (24 h)', listHref(query, { q: '', filter: 'failed', page: 1 }), true)}
${item('paused', s.paused, 'jobs paused', listHref(query, { q: '', filter: 'paused', page: 1 }), false)}
${item('broken', s.fileErrors, 'file errors', listHref(query, { q: '', filter: 'broken', page: 1 }), true)}
<li class="${stale || up === 0 ? 'bad' : ''}" data-summary="agents"><a href="#agents"><span class="count">${up}</span><span class="label">agents up${stale ? ` · <span class="stale">${stale} stale</span>` : ''}</span></a></li>
</ul>`;
}

function agentsHtml(agents: readonly AgentHeartbeat[]): string {
  const rows = agents.map(
    (a) => `<tr data-agent="${escapeHtml(a.name)}"><td data-label="agent" class="id">${escapeHtml(a.name)}</td><td data-label="role">${escapeHtml(a.role)}</td><td data-label="version" class="nowrap">${escapeHtml(a.version)}</td><td data-label="jobs" class="num">${a.jobs}</td>
<td data-label="heartbeat" class="nowrap">${spanText(a.heartbeatAgeSeconds * 1000)} ago${a.stale ? ' <span class="stale">stale</span>' : ''}</td></tr>`,
  );
  return `<h2 id="agents">Agents</h2>
<table class="cards"><thead><tr><th>Agent</th><th>Role</th><th>Version</th><th>Jobs</th><th>Last heartbeat</th></tr></thead><tbody>
${rows.join('\n') || '<tr><td colspan="5">no agent registered</td></tr>'}
</tbody></table>`;
}

function jobRow(def: JobDefinition, view: AgentView, run: FireRow | undefined, timeline: readonly FireRow[], pause: Pause | undefined, broken: FileError[] | undefined, range: Range, nowMs: number): string {
  const zone = def.schedule.timezone;
  const nextMs = def.enabled ? view.nextFire(def.id) : undefined;
  const secrets = allSecrets(def.secrets);
  const message = typeof run?.result?.message === 'string' ? scrubText(run.result.message, secrets) : '';
  const description = shownDescription(def);
  const jobHref = `/jobs/${encodeURIComponent(def.id)}`;
  return `<tr class="job${def.enabled ? '' : ' disabled'}" data-job="${escapeHtml(def.id)}">
<td data-label="job"><div class="id"><a href="${escapeHtml(jobHref)}">${escapeHtml(def.id)}</a></div>${description ? `<div class="desc">${escapeHtml(description)}</div>` : ''}${brokenNote(broken)}</td>
<td data-label="schedule">${escapeHtml(def.enabled ? describeTrigger(def.schedule) : `disabled · ${describeTrigger(def.schedule)}`)}${pausedNote(pause, nowMs)}<div class="desc">${escapeHtml(def.task.type)} · overlap ${escapeHtml(def.overlap)}</div></td>
<td data-label="next fire" class="next">${nextMs !== undefined ? timeHtml(nextMs, zone, nowMs) : '—'}</td>
<td data-label="last run" class="last">${run ? `<span class="nowrap">${stateHtml(run.state)} ${timeHtml(ranAtMs(run), zone, nowMs)}</span>` : '—'}${message ? `<div class="msg">${escapeHtml(message.slice(0, 160))}</div>` : ''}</td>
<td data-label="runs">${timelineHtml(timeline, range, nowMs, def.secrets)}</td>
</tr>`;
}

export async function renderStatusPage(view: AgentView, nowMs: number, query: ListQuery = { q: '', page: 1, range: 'runs' }): Promise<string> {
  const failed: string[] = [];
  const jobs = view.jobs();
  const ids = jobs.map((d) => d.id);
  const [states, bad, pauses, backfills, agents] = await Promise.all([
    orElse(view.lastResultStates(ids), new Map<string, FireState>(), failed, 'last results'),
    orElse(view.badFires(nowMs - DAY_MS), new Map<string, BadFires>(), failed, 'failures'),
    orElse(view.pauses(), new Map<string, Pause>(), failed, 'pauses'),
    orElse(view.backfills(), [] as BackfillProgress[], failed, 'backfills'),
    orElse(view.agents(), [] as AgentHeartbeat[], failed, 'agents'),
  ]);
  const errors = view.fileErrors();
  const loaded = new Set(ids);
  const failingIds = new Set([...states].filter(([, state]) => FAILING_STATES.includes(state)).map(([id]) => id));
  const figures: Figures = { failing: failingIds, bad, paused: new Set([...pauses.keys()].filter((id) => loaded.has(id))), broken: errorsByFile(errors) };
  const failing = failingIds.size;
  let missed = 0;
  let failedRuns = 0;
  for (const [id, b] of bad) {
    if (!loaded.has(id)) continue;
    missed += b.missed;
    failedRuns += b.failed;
  }
  const { matched, pages, page, shown } = selectJobs(jobs, query, figures);
  const shownIds = shown.map((d) => d.id);
  const since = RANGES[query.range];
  const [last, timelines] = await Promise.all([
    orElse(view.lastRunsOf(shownIds), new Map<string, FireRow>(), failed, 'last runs'),
    orElse(view.timelines(shownIds, since === undefined ? TIMELINE_RUNS : RANGE_RUNS_CAP, since === undefined ? undefined : nowMs - since), new Map<string, FireRow[]>(), failed, 'timelines'),
  ]);
  const rows = shown.map((def) => jobRow(def, view, last.get(def.id), timelines.get(def.id) ?? [], pauses.get(def.id), figures.broken.get(def.file), query.range, nowMs));

  const filterNote = query.filter ? ` · showing ${escapeHtml(FILTERS[query.filter])} <a href="${escapeHtml(listHref(query, { filter: undefined, page: 1 }))}">(show all)</a>` : '';
  const pager =
    pages > 1
      ? `<nav class="pages" aria-label="pages">${page > 1 ? `<a rel="prev" href="${escapeHtml(listHref(query, { page: page - 1 }))}">← previous</a>` : ''}<span>page ${page} of ${pages}</span>${page < pages ? `<a rel="next" href="${escapeHtml(listHref(query, { page: page + 1 }))}">next →</a>` : ''}</nav>`
      : '';
  const first = matched === 0 ? 0 : (page - 1) * PAGE_SIZE + 1;
  const body = `<header><h1>jobsd</h1>
<div class="meta">${escapeHtml(view.instance)} · version ${escapeHtml(view.version)} · ${jobs.length} jobs · <time datetime="${new Date(nowMs).toISOString()}">${new Date(nowMs).toISOString().slice(0, 19).replace('T', ' ')} UTC</time> · refreshes every 10 s</div></header>
<main>
${failed.length ? `<div class="errors" role="alert"><strong>The database did not answer</strong>: ${escapeHtml(failed.join('; '))}</div>` : ''}
${summaryHtml({ failing, missed, failed: failedRuns, paused: figures.paused.size, fileErrors: errors.length, agents }, query)}
${backfills.map((b) => `<div class="backfill" data-backfill="${escapeHtml(b.jobId)}"><strong>backfill of ${escapeHtml(b.jobId)}</strong> ${new Date(b.fromMs).toISOString()} → ${new Date(b.toMs).toISOString()}: ${b.done}/${b.total} done${b.failed ? `, ${b.failed} failed` : ''}, started ${relativeText(b.startedAtMs, nowMs)}</div>`).join('')}
${errors.length ? `<div class="errors" id="file-errors"><strong>${errors.length} job file error(s)</strong> (a job whose file is broken keeps running its last good version)${errors.map((e) => `<pre>${escapeHtml(formatFileError(e))}</pre>`).join('')}</div>` : ''}
<div class="tools"><form method="get" action="/" role="search"><label for="q" class="muted">Search</label><input type="search" id="q" name="q" value="${escapeHtml(query.q)}" placeholder="id or description">${query.filter ? `<input type="hidden" name="filter" value="${query.filter}">` : ''}${query.range !== 'runs' ? `<input type="hidden" name="range" value="${query.range}">` : ''}<button type="submit">Search</button></form>
${rangeLinks(query.range, (range) => listHref(query, { range }))}</div>
<p class="muted" id="shown">${matched === 0 ? 'no job matches' : `jobs ${first}–${first + shown.length - 1} of ${matched}`}${query.q ? ` matching “${escapeHtml(query.q)}”` : ''}${filterNote}</p>
<table id="jobs" class="cards"><thead><tr><th>Job</th><th>Schedule</th><th>Next fire</th><th>Last run</th><th>Runs (hover for details)</th></tr></thead>
<tbody>
${rows.join('\n')}
</tbody></table>
${pager}
<p class="legend">${legendHtml()}</p>
${agentsHtml(agents)}
</main>`;
  return pageShell(`jobsd · ${view.instance}`, body);
}

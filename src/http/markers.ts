// Markers both pages show: a job's pause, its broken file, and the links that choose a timeline's range.
import type { Pause } from '../db/pauses.ts';
import { formatFileError, type FileError } from '../definitions/errors.ts';
import { escapeHtml, spanText } from './html.ts';
import { RANGES, TIMELINE_RUNS, type Range } from './timeline.ts';

/** A paused job's marker: until when (or until resumed), by whom, why. */
export function pausedNote(pause: Pause | undefined, nowMs: number): string {
  if (!pause) return '';
  const until = pause.untilMs === undefined ? 'until resumed' : `for ${spanText(pause.untilMs - nowMs)} more`;
  return `<div class="paused" data-paused="true"><strong>paused</strong> ${escapeHtml(until)} · by ${escapeHtml(pause.by)}${pause.reason ? `: ${escapeHtml(pause.reason)}` : ''}</div>`;
}

/** The marker of a job whose file is broken: it runs its last good version; the file's first error. */
export function brokenNote(errors: readonly FileError[] | undefined): string {
  if (!errors?.length) return '';
  const more = errors.length > 1 ? ` (and ${errors.length - 1} more)` : '';
  return `<div class="broken" data-broken="true"><strong>file broken</strong>: running its last good version · <code>${escapeHtml(formatFileError(errors[0]!))}</code>${more}</div>`;
}

export function rangeLinks(range: Range, href: (r: Range) => string): string {
  const label: Record<Range, string> = { runs: `last ${TIMELINE_RUNS} runs`, '1h': '1 h', '24h': '24 h', '7d': '7 d' };
  return `<nav class="ranges" aria-label="timeline range">Timeline: ${(Object.keys(RANGES) as Range[])
    .map((r) => `<a href="${escapeHtml(href(r))}"${r === range ? ' aria-current="true"' : ''}>${label[r]}</a>`)
    .join('')}</nav>`;
}

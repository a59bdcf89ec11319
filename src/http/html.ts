// What both HTML pages share: escaping, relative times with the exact instant on hover, durations, and the
// page shell (styles, the refresh that is a progressive enhancement, no external assets).
import { DateTime } from 'luxon';
import { PAGE_STYLE } from './page-style.ts';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

/** A span of time as a person says it: "42 s", "3 min", "5 h", "3 d", "1.5 y". */
export function spanText(ms: number): string {
  const s = Math.abs(ms) / 1000;
  if (s < 90) return `${Math.round(s)} s`;
  if (s < 5400) return `${Math.round(s / 60)} min`;
  if (s < 129_600) return `${Math.round(s / 3600)} h`;
  if (s < 365 * 86_400) return `${Math.round(s / 86_400)} d`;
  return `${(s / (365.25 * 86_400)).toFixed(1)} y`;
}

/** "in 42 s", "3 min ago", "now". */
export function relativeText(ms: number, nowMs: number): string {
  const d = ms - nowMs;
  if (Math.abs(d) < 1000) return 'now';
  return d > 0 ? `in ${spanText(d)}` : `${spanText(d)} ago`;
}

/** The exact instant in the zone and in UTC (UTC once for a UTC job): "2026-12-04 03:00:00 +01:00 Europe/Berlin · 2026-12-04 02:00:00 UTC". */
export function exactText(ms: number, zone: string): string {
  const utc = DateTime.fromMillis(ms, { zone: 'UTC' }).toFormat('yyyy-MM-dd HH:mm:ss');
  if (isUtc(zone)) return `${utc} UTC`;
  return `${DateTime.fromMillis(ms, { zone }).toFormat('yyyy-MM-dd HH:mm:ss ZZ')} ${zone} · ${utc} UTC`;
}

export function isUtc(zone: string): boolean {
  return ['UTC', 'Etc/UTC', 'Z', 'GMT', 'Etc/GMT', 'Etc/Zulu', 'Zulu', 'Universal', 'Etc/Universal'].includes(zone);
}

/** A relative time, the exact instant in the zone and UTC on hover (title) and in datetime. */
export function timeHtml(ms: number, zone: string, nowMs: number): string {
  return `<time datetime="${new Date(ms).toISOString()}" title="${escapeHtml(exactText(ms, zone))}">${relativeText(ms, nowMs)}</time>`;
}

/** A duration of a run: "120 ms", "4.2 s", "3 min". */
export function durationText(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 90_000) return `${(ms / 1000).toFixed(1)} s`;
  return spanText(ms);
}

/** The page around a body: it reloads every 10 s (by script, unless the reader is typing or has opened an output; without script, a meta refresh). */
export function pageShell(title: string, body: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><meta name="color-scheme" content="light dark">
<noscript><meta http-equiv="refresh" content="10"></noscript>
<title>${escapeHtml(title)}</title><style>${PAGE_STYLE}</style></head>
<body>
${body}
<script>setInterval(function(){var a=document.activeElement;if(a&&a.tagName==='INPUT')return;if(document.querySelector('details[open]'))return;if(String(getSelection()))return;location.reload()},10000)</script>
</body></html>
`;
}

// What the import tests share: running `jobsd import` into a temporary directory, validating the
// result with `jobsd validate`, asking `jobsd next` for fires, and an independent cron matcher.

import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { DateTime } from 'luxon';
import { parse } from 'yaml';
import { runCli, type CliResult } from '../helpers/cli.ts';

export const FIXTURES = path.join(import.meta.dirname, 'fixtures');

export interface Imported extends CliResult {
  dir: string;
  files: Record<string, Record<string, unknown>>;
}

export async function importInto(args: string[], env: Record<string, string> = {}): Promise<Imported> {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-import-'));
  const result = await runCli(['import', ...args, '--out', dir], { env });
  const files: Imported['files'] = {};
  for (const name of readdirSync(dir)) files[name] = parse(readFileSync(path.join(dir, name), 'utf8')) as Record<string, unknown>;
  return { ...result, dir, files };
}

/** Every file of `dir` passes `jobsd validate`. */
export async function assertValid(dir: string, env: Record<string, string> = {}): Promise<void> {
  const r = await runCli(['validate', dir], { env: { JOBSD_TIMEZONE: 'UTC', ...env } });
  assert.equal(r.code, 0, `jobsd validate ${dir}:\n${r.stdout}${r.stderr}`);
}

export async function nextFires(file: string, from: string, count: number, env: Record<string, string> = {}): Promise<string[]> {
  const r = await runCli(['next', file, '--from', from, '--count', String(count), '--json'], { env: { JOBSD_TIMEZONE: 'UTC', ...env } });
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as string[];
}

// ---- an independent cron: five fields, names, ranges, steps, lists; Vixie's day rule ----

const MACROS: Record<string, string> = { '@hourly': '0 * * * *', '@daily': '0 0 * * *', '@weekly': '0 0 * * 0', '@monthly': '0 0 1 * *', '@yearly': '0 0 1 1 *' };
const NAMES: Record<string, number> = { sun: 0, mon: 1, tue: 2, wed: 3, thu: 4, fri: 5, sat: 6, jan: 1, feb: 2, mar: 3, apr: 4, may: 5, jun: 6, jul: 7, aug: 8, sep: 9, oct: 10, nov: 11, dec: 12 };

function field(text: string, min: number, max: number): Set<number> {
  const out = new Set<number>();
  const value = (t: string) => (t.toLowerCase() in NAMES ? NAMES[t.toLowerCase()]! : Number(t));
  for (const item of text.split(',')) {
    const [range, step = '1'] = item.replace('?', '*').split('/');
    let from = min;
    let to = max;
    if (range !== '*') {
      const [a, b] = range!.split('-');
      from = value(a!);
      to = b === undefined ? (item.includes('/') ? max : from) : value(b);
    }
    for (let v = from; v <= to; v += Number(step)) out.add(v);
  }
  return out;
}

/**
 * The next `count` fires after `from` of a five-field cron expression in `zone`, minute by minute.
 * `vixie`: a day field starting with `*` is unrestricted (cron, cronie); `kubernetes`: only `*`, `?` and
 * `*` stepped by 1 are (robfig/cron v3, which Kubernetes CronJobs use).
 */
export function cronOracle(expression: string, zone: string, from: string, count: number, rule: 'vixie' | 'kubernetes' = 'vixie'): string[] {
  const text = MACROS[expression] ?? expression;
  const [mi, h, dom, mon, dow] = text.split(/\s+/) as [string, string, string, string, string];
  const minutes = field(mi, 0, 59);
  const hours = field(h, 0, 23);
  const days = field(dom, 1, 31);
  const months = field(mon, 1, 12);
  const weekdays = new Set([...field(dow, 0, 7)].map((d) => d % 7));
  // Vixie cron: when either day field starts with '*', both must match; otherwise either.
  const star = (f: string) => (rule === 'vixie' ? f.startsWith('*') : f.split(',').some((item) => /^[*?](\/1)?$/.test(item)));
  const dayStar = star(dom) || star(dow);
  const out: string[] = [];
  let ms = Math.floor(Date.parse(from) / 60_000) * 60_000 + 60_000;
  for (let guard = 0; out.length < count && guard < 2_000_000; guard++, ms += 60_000) {
    const t = DateTime.fromMillis(ms, { zone });
    if (!minutes.has(t.minute) || !hours.has(t.hour) || !months.has(t.month)) continue;
    const d = days.has(t.day);
    const w = weekdays.has(t.weekday % 7);
    if (dayStar ? d && w : d || w) out.push(new Date(ms).toISOString());
  }
  return out;
}


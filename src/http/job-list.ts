// Which jobs the status page lists: the search (`?q=`, by id or description), the summary's filters
// (`?filter=failing`…) and the page of them shown (`?page=`, PAGE_SIZE a page). Pure: the figures come in.
import path from 'node:path';
import type { BadFires } from '../db/status-queries.ts';
import type { FileError } from '../definitions/errors.ts';
import type { JobDefinition } from '../definitions/types.ts';
import { allSecrets, scrubText } from '../redact.ts';
import { parseRange, type Range } from './timeline.ts';

export const PAGE_SIZE = 50;
export const FILTERS = {
  failing: 'failing now',
  missed: 'missed fires (24 h)',
  failed: 'failed runs (24 h)',
  paused: 'paused',
  broken: 'file broken',
} as const;
export type Filter = keyof typeof FILTERS;

export interface ListQuery {
  q: string;
  filter?: Filter;
  page: number;
  range: Range;
}

export function parseListQuery(url: URL): ListQuery {
  const filter = url.searchParams.get('filter');
  const page = Number(url.searchParams.get('page') ?? '1');
  return {
    q: (url.searchParams.get('q') ?? '').trim().slice(0, 200),
    ...(filter !== null && Object.hasOwn(FILTERS, filter) ? { filter: filter as Filter } : {}),
    page: Number.isInteger(page) && page >= 1 ? Math.min(page, 1_000_000) : 1,
    range: parseRange(url.searchParams.get('range')),
  };
}

/** The query string of a link that changes some of the query's parts (defaults left out). */
export function listHref(query: ListQuery, change: Partial<ListQuery>): string {
  const q = { ...query, ...change };
  const params = new URLSearchParams();
  if (q.q) params.set('q', q.q);
  if (q.filter) params.set('filter', q.filter);
  if (q.range !== 'runs') params.set('range', q.range);
  if (q.page > 1) params.set('page', String(q.page));
  const text = params.toString();
  return text ? `/?${text}` : '/';
}

/** Each job file's errors by the absolute path of the file (a definition's `file`). */
export function errorsByFile(errors: readonly FileError[]): Map<string, FileError[]> {
  const out = new Map<string, FileError[]>();
  for (const e of errors) {
    const key = path.resolve(e.file);
    out.set(key, [...(out.get(key) ?? []), e]);
  }
  return out;
}

export interface Figures {
  /** The jobs whose last result failed or timed out. */
  failing: ReadonlySet<string>;
  bad: Map<string, BadFires>;
  paused: ReadonlySet<string>;
  broken: Map<string, FileError[]>;
}

export function matchesFilter(def: JobDefinition, filter: Filter, f: Figures): boolean {
  switch (filter) {
    case 'failing':
      return f.failing.has(def.id);
    case 'missed':
      return (f.bad.get(def.id)?.missed ?? 0) > 0;
    case 'failed':
      return (f.bad.get(def.id)?.failed ?? 0) > 0;
    case 'paused':
      return f.paused.has(def.id);
    case 'broken':
      return f.broken.has(def.file);
  }
}

/** A job's description as the page shows it (and the search reads it): without its secrets. */
export function shownDescription(def: JobDefinition): string | undefined {
  return def.description === undefined ? undefined : scrubText(def.description, allSecrets(def.secrets));
}

/** The jobs matching the query, in id order, and the page of them to show. */
export function selectJobs(jobs: readonly JobDefinition[], query: ListQuery, figures: Figures): { matched: number; pages: number; page: number; shown: JobDefinition[] } {
  const needle = query.q.toLowerCase();
  const matched = jobs
    .filter((def) => (!needle || def.id.includes(needle) || (shownDescription(def)?.toLowerCase().includes(needle) ?? false)) && (!query.filter || matchesFilter(def, query.filter, figures)))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const pages = Math.max(1, Math.ceil(matched.length / PAGE_SIZE));
  const page = Math.min(query.page, pages);
  return { matched: matched.length, pages, page, shown: matched.slice((page - 1) * PAGE_SIZE, page * PAGE_SIZE) };
}

// Helpers the converters share: ids, literal text in job files, durations.

import { formatDuration } from '../definitions/duration.ts';

const ID = /^[a-z0-9][a-z0-9._-]{0,127}$/;

/** A job id made from free text: lower case, runs of other characters as `-`, at most 128 characters. */
export function slugId(text: string, fallback: string): string {
  const slug = text
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+/, '')
    .replace(/-+$/, '')
    .slice(0, 128)
    .replace(/[^a-z0-9]+$/, '');
  return ID.test(slug) ? slug : fallback;
}

/** Hands out ids unique within one import: `backup`, `backup-2`, `backup-3`. */
export class IdPool {
  private readonly taken = new Set<string>();
  claim(wanted: string): string {
    let id = wanted;
    for (let n = 2; this.taken.has(id); n++) id = `${wanted.slice(0, 120)}-${n}`;
    this.taken.add(id);
    return id;
  }
}

/**
 * Text that must reach the job as written: job files interpolate `${...}` and read `$$` as `$`, so a
 * `$` before `$` or `{` is doubled. A lone `$` (`$HOME`) passes through interpolation unchanged.
 */
export function literal(text: string): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    const next = text[i + 1];
    out += c === '$' && (next === '$' || next === '{') ? '$$' : c;
  }
  return out;
}

/** A duration in milliseconds as a job-file duration (`90s`, `1h30m`, `250ms`). */
export function duration(ms: number): string {
  return formatDuration(Math.round(ms));
}

/** Single-quotes a word for /bin/sh unless it is plain. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`;
}

/** An email address as the schema's `to` items take it (loosely: something@something). */
export function looksLikeEmail(text: string): boolean {
  return /^[^\s@]+@[^\s@]+$/.test(text);
}

export type Part = { plain: string } | { raw: string };

/** Literal text and job-file interpolations joined, a `$` just before an interpolation escaped too. */
export function joinParts(parts: Part[]): string {
  let out = '';
  for (const [i, part] of parts.entries()) {
    if ('raw' in part) out += part.raw;
    else {
      const next = parts[i + 1];
      out += next && 'raw' in next ? literal(part.plain + '{').slice(0, -1) : literal(part.plain);
    }
  }
  return out;
}

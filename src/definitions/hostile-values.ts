// What a loaded document may not hold or show: NUL characters (they break scheduling and PostgreSQL),
// interpolated values in error messages (a `${file:…}` secret is quoted as its source text), more errors
// than a person reads, and messages that would quote a whole file.
import { MAX_ERRORS_PER_FILE } from '../files/limits.ts';
import type { Substitution } from '../files/interpolate.ts';
import { scrubText } from '../redact.ts';
import { ERROR_CODES, type FileError } from './errors.ts';

/** The paths of every string value, and key, that holds a NUL character. */
export function nulPaths(value: unknown, path: (string | number)[] = [], out: { path: (string | number)[]; atKey: boolean }[] = []) {
  if (typeof value === 'string') {
    if (value.includes('\0')) out.push({ path, atKey: false });
  } else if (Array.isArray(value)) value.forEach((item, i) => nulPaths(item, [...path, i], out));
  else if (value !== null && typeof value === 'object') {
    for (const [key, item] of Object.entries(value)) {
      if (key.includes('\0')) out.push({ path: [...path, key], atKey: true });
      else nulPaths(item, [...path, key], out);
    }
  }
  return out;
}

const related = (a: readonly (string | number)[], b: readonly (string | number)[]) => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return false;
  return true;
};

/** The longest message kept: a message quoting a whole file says no more than its first lines. */
const MAX_MESSAGE = 400;

/**
 * A problem's message as it may be shown: every value that interpolation put at or around `path` is
 * replaced by its source text (`${file:./token}`), the secrets are replaced, and it is shortened.
 */
export function showableMessage(message: string, path: readonly (string | number)[], substitutions: readonly Substitution[], secrets: readonly string[]): string {
  let out = message;
  for (const s of substitutions) {
    if (s.value === '' || !related(s.path, path)) continue;
    const escaped = JSON.stringify(s.value).slice(1, -1);
    out = out.split(s.value).join(s.source);
    if (escaped !== s.value) out = out.split(escaped).join(s.source);
  }
  out = scrubText(out, secrets);
  return out.length > MAX_MESSAGE ? `${out.slice(0, MAX_MESSAGE - 1)}…` : out;
}

/** At most MAX_ERRORS_PER_FILE errors, and one that counts the rest. */
export function capErrors(errors: FileError[], file: string): FileError[] {
  if (errors.length <= MAX_ERRORS_PER_FILE) return errors;
  const rest = errors.length - MAX_ERRORS_PER_FILE;
  return [
    ...errors.slice(0, MAX_ERRORS_PER_FILE),
    { code: ERROR_CODES.more, file, message: `and ${rest.toLocaleString('en-US')} more error${rest === 1 ? '' : 's'} in this file` },
  ];
}

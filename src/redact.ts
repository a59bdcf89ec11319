// Secrets kept out of logs, result JSON and the API: values under secret-looking keys, and the values a
// job file read from `${file:…}` or gave as a token (JobDefinition.secrets), wherever they appear in a string.

export const REDACTED = '[redacted]';

/** Keys whose values are secrets whatever they hold. */
export const SECRET_KEY = /(?:^|[_-])(?:token|password|passwd|secret|authorization|api[_-]?key|cookie|set-cookie|credentials?)$|^(?:token|password|secret|authorization|apikey|cookie)$/i;

/** Replaces every occurrence of a secret value in `text` (values shorter than 4 characters are left: too many false hits). */
export function scrubText(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const secret of secrets) if (secret.length >= 4 && out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}

/** Plain objects are walked; class instances (errors, dates, buffers) are left as they are. */
function isPlain(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A copy of `value` with secret keys' values and secret values in strings replaced. */
export function redactDeep<T>(value: T, secrets: Iterable<string> = []): T {
  const list = [...secrets];
  const walk = (v: unknown, key?: string): unknown => {
    if (key !== undefined && SECRET_KEY.test(key) && v !== null && v !== undefined && v !== '') return REDACTED;
    if (typeof v === 'string') return scrubText(v, list);
    if (Array.isArray(v)) return v.map((item) => walk(item));
    if (v !== null && typeof v === 'object' && isPlain(v)) {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) out[k] = walk(item, k);
      return out;
    }
    return v;
  };
  return walk(value) as T;
}

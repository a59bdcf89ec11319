// Secrets kept out of logs, result JSON and the API: values under secret-looking keys, and the values a
// job file read from `${file:…}` or gave as a token (JobDefinition.secrets), wherever they appear in a string.
// Every secret the process knows (all loaded jobs' and the agent's own) is registered here, so that one
// job's output cannot show another job's secret.

export const REDACTED = '[redacted]';

/** Keys whose values are secrets whatever they hold. */
export const SECRET_KEY = /(?:^|[_-])(?:token|password|passwd|secret|authorization|api[_-]?key|cookie|set-cookie|credentials?)$|^(?:token|password|secret|authorization|apikey|cookie)$/i;

/** Replaces every occurrence of a secret value in `text` (values shorter than 4 characters are left: too many false hits). */
export function scrubText(text: string, secrets: Iterable<string>): string {
  if (secrets === known) return scrubKnown(text);
  let out = text;
  for (const secret of secrets) if (secret.length >= 4 && out.includes(secret)) out = out.split(secret).join(REDACTED);
  return out;
}

/** The password of a URL (`postgres://user:password@host`), as written and decoded; none: empty. */
export function urlPasswords(url: string): string[] {
  const password = /^[a-z][a-z0-9+.-]*:\/\/[^/@\s:]*:([^/@\s]+)@/i.exec(url)?.[1];
  if (!password) return [];
  try {
    return [password, decodeURIComponent(password)];
  } catch {
    return [password];
  }
}

/** Plain objects are walked; class instances (errors, dates, buffers) are left as they are. */
function isPlain(v: object): boolean {
  const proto = Object.getPrototypeOf(v) as unknown;
  return proto === Object.prototype || proto === null;
}

/** A copy of `value` with secret keys' values and secret values in strings replaced. */
export function redactDeep<T>(value: T, secrets: Iterable<string> = []): T {
  const list = secrets === known ? known : [...secrets];
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

/** Every secret value this process has seen: all loaded jobs' `secrets` and the agent's own settings. */
const known = new Set<string>();
/** Secrets by their first 4 characters, longest first, once there are too many to look for one by one. */
let byPrefix: Map<string, string[]> | undefined;
const PREFIX = 4;
const FEW = 16;

/** Adds values that must never be shown (a job's `secrets`); they stay registered for the process's life. */
export function registerSecrets(values: Iterable<string>): void {
  for (const value of values) {
    if (value.length >= PREFIX && !known.has(value)) {
      known.add(value);
      byPrefix = undefined;
    }
  }
}

/** The registry itself, live: what logs, results and the API are scrubbed with. */
export function knownSecrets(): ReadonlySet<string> {
  return known;
}

/** Every known secret, `secrets` included (registered first): what one job's output is scrubbed with. */
export function allSecrets(secrets: Iterable<string> = []): ReadonlySet<string> {
  registerSecrets(secrets);
  return known;
}

/** Linear in the text whatever the number of secrets (10,000 jobs with a secret each must not cost 10,000 scans). */
function scrubKnown(text: string): string {
  if (known.size <= FEW) {
    let out = text;
    for (const secret of known) if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    return out;
  }
  if (!byPrefix) {
    byPrefix = new Map();
    for (const secret of known) {
      const key = secret.slice(0, PREFIX);
      const list = byPrefix.get(key);
      if (list) list.push(secret);
      else byPrefix.set(key, [secret]);
    }
    for (const list of byPrefix.values()) list.sort((a, b) => b.length - a.length);
  }
  let out = '';
  let last = 0;
  for (let i = 0; i <= text.length - PREFIX; ) {
    const hit = byPrefix.get(text.slice(i, i + PREFIX))?.find((secret) => text.startsWith(secret, i));
    if (hit === undefined) i++;
    else {
      out += text.slice(last, i) + REDACTED;
      i += hit.length;
      last = i;
    }
  }
  return last === 0 ? text : out + text.slice(last);
}

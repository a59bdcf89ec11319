// Time zones in job files: IANA names only, canonicalised through Intl.
// luxon's isValidZone accepts `EST` and `+02:00`; we accept IANA `Area/Location` names and UTC.

/** `Europe/Berlin`, `America/Argentina/Buenos_Aires`, `US/Eastern` (a link): an area, then locations. */
const IANA_NAME = /^[A-Za-z]+(?:\/[A-Za-z0-9_+-]+)+$/;
const UTC_NAMES = new Set(['utc', 'etc/utc']);

/**
 * The canonical IANA name for `name` as Intl resolves it (`europe/berlin` → `Europe/Berlin`,
 * `US/Eastern` → `America/New_York`, `Etc/UTC` → `UTC`), or null when it is not an IANA zone name.
 * Abbreviations (`EST`, `CET`, `GMT`), offsets (`+02:00`, `GMT+2`) and the sign-inverted
 * `Etc/GMT+2` forms are rejected: they say nothing about daylight saving time, or say it wrongly.
 */
export function canonicalZone(name: string): string | null {
  let zone = canonical.get(name);
  if (zone === undefined) {
    zone = resolve(name);
    if (canonical.size < 1_000) canonical.set(name, zone);
  }
  return zone;
}

// Resolving a zone builds an Intl.DateTimeFormat (~100 µs); job files name a handful of zones.
const canonical = new Map<string, string | null>();

function resolve(name: string): string | null {
  const lower = name.toLowerCase();
  if (!UTC_NAMES.has(lower) && (!IANA_NAME.test(name) || lower.startsWith('etc/'))) return null;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: name }).resolvedOptions().timeZone;
  } catch {
    return null;
  }
}

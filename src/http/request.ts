// What the endpoint reads from a request: its target, path segments and query parameters, each refused with
// a 400 that names what was wrong (never a URIError reaching the 500 handler with a stack).

/** An error the client caused, answered as `{"error": {"code", "message"}}` with its status. */
export class HttpError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/**
 * The request target as a URL. An origin-form target is resolved against a fixed origin by concatenation,
 * so `//api/jobs` stays a path (resolving it as a reference made `api` the host); an absolute-form
 * target (`GET http://host/path`) is parsed as it is.
 */
export function requestUrl(target: string | undefined): URL {
  const text = target ?? '/';
  const url = URL.parse(text.startsWith('/') ? `http://localhost${text}` : text);
  if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) throw new HttpError(400, 'bad_path', 'the request target is not a path such as /api/jobs');
  return url;
}

/** A percent-encoded path segment, decoded; malformed encoding (`%ZZ`, `%ff`) is a 400. */
export function pathSegment(raw: string): string {
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'bad_path', `the path segment "${raw.slice(0, 100)}" has malformed percent-encoding: encode it as UTF-8, with % followed by two hex digits`);
  }
}

/** A query parameter that must be a decimal integer in [min, max] (no exponent, sign, hex or blanks). */
export function integerParam(url: URL, name: string, range: { min: number; max: number; fallback: number }): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return range.fallback;
  const n = /^[0-9]{1,9}$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= range.min && n <= range.max)) {
    throw new HttpError(400, 'bad_query', `${name}: "${raw.slice(0, 40)}" is not a whole number from ${range.min} to ${range.max} (decimal digits only)`);
  }
  return n;
}

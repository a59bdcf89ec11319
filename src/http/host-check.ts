// The Host header check against DNS rebinding: a page on a hostile name that resolves to 127.0.0.1 makes the
// browser send that name as Host. A rebinding needs a name, so any IP literal is accepted (with or without a
// port, also when bound to 0.0.0.0 or ::); a name must be localhost, the bound host itself, or one given by
// --allowed-hosts (JOBSD_ALLOWED_HOSTS). `*` in that list turns the check off (behind a proxy that checks).
import { isIP } from 'node:net';

export interface HostRule {
  /** The address the endpoint was asked to bind (an IP literal or a name). */
  boundHost: string;
  /** Lower-case names, without a trailing dot; `*`: any. */
  allowedHosts: readonly string[];
}

/** `name` lower-cased and without its trailing dot, as it is compared. */
export function canonicalHostName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** The host part of a Host header value: `name`, `name:port`, `[v6]`, `[v6]:port`; undefined when malformed. */
function hostPart(header: string): string | undefined {
  const bracketed = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/i.exec(header);
  if (bracketed) return isIP(bracketed[1]!) === 6 ? bracketed[1] : undefined;
  const plain = /^([^:[\]]+)(?::\d{1,5})?$/.exec(header);
  return plain?.[1];
}

/**
 * Null when a request with this Host header may be answered (no header at all: HTTP/1.0, which a browser
 * does not send), else the one-line reason it is refused.
 */
export function hostProblem(header: string | undefined, rule: HostRule): string | null {
  if (header === undefined) return null;
  const host = hostPart(header.trim());
  const shown = JSON.stringify(header.slice(0, 100));
  if (host === undefined) return `the Host header ${shown} is not a host name or address`;
  if (isIP(host) !== 0) return null;
  const name = canonicalHostName(host);
  if (name === 'localhost' || name === canonicalHostName(rule.boundHost) || rule.allowedHosts.includes(name) || rule.allowedHosts.includes('*')) return null;
  return `requests for host ${shown} are refused (DNS rebinding): this agent answers to IP addresses, localhost and the names given by --allowed-hosts (JOBSD_ALLOWED_HOSTS)`;
}

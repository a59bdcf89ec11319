// Ordinary database failures as one line for the CLI: what failed, and what to check. Connection
// refused, unknown host, no answer, a refused login or a database that does not exist are the user's
// setup, not a bug: no stack trace. The password of the URL never appears.

/** `user@host:port/database` of a postgres URL, without its password; undefined when it does not parse. */
export function databaseWhere(url: string): string | undefined {
  try {
    const u = new URL(url);
    if (!/^postgres(ql)?:$/.test(u.protocol)) return undefined;
    const user = u.username ? `${decodeURIComponent(u.username)}@` : '';
    return `${user}${u.hostname || 'localhost'}:${u.port || '5432'}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
  } catch {
    return undefined;
  }
}

const CHECK = 'check --database-url (or JOBSD_DATABASE_URL)';

/** The one line for an ordinary database failure; undefined for anything else (a bug keeps its stack). */
export function databaseProblem(error: unknown, url: string, source = CHECK): string | undefined {
  const err = error as { code?: unknown; message?: unknown; errors?: unknown[] };
  const code = typeof err?.code === 'string' ? err.code : undefined;
  const message = typeof err?.message === 'string' ? err.message : '';
  const where = databaseWhere(url) ?? 'the database';
  switch (code) {
    case 'ECONNREFUSED':
      return `cannot connect to the database at ${where}: connection refused (is PostgreSQL running there, on that port?); ${source}`;
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot connect to the database at ${where}: the host name does not resolve; ${source}`;
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `cannot connect to the database at ${where}: the host cannot be reached (${code}); check the host, the network and firewalls, and ${source}`;
    case 'ECONNRESET':
      return `the database at ${where} closed the connection (${code}); is it PostgreSQL, and does it accept connections from here? ${source}`;
    case '28P01':
      return `the database at ${where} refused the password; ${source}`;
    case '28000':
      return `the database at ${where} refused the login (${message}); check the user in the URL and the server's pg_hba.conf`;
    case '3D000':
      return `the database at ${where} does not exist (${message}); create it, or ${source}`;
    case '42P01':
    case '3F000':
      return `the database at ${where} has no jobsd tables: no agent has used it yet (jobsd start creates them), or ${source}`;
    case '57P03':
      return `the database at ${where} is starting up or shutting down; try again in a moment`;
  }
  // A connection refused on every address of a name (localhost: ::1 and 127.0.0.1) comes as one AggregateError.
  if (Array.isArray(err?.errors) && err.errors.length > 0) return databaseProblem(err.errors[0], url, source);
  if (/^Connection terminated unexpectedly/.test(message)) {
    return `the server at ${where} closed the connection before answering: is it PostgreSQL, on that host and port? ${source}`;
  }
  if (/timeout exceeded when trying to connect|connection timeout/i.test(message)) {
    return `cannot connect to the database at ${where}: no answer within 5 s; check the host, the network and firewalls, and ${source}`;
  }
  if (/SASL|password must be a string|client password/i.test(message)) {
    return `cannot log in to the database at ${where} (${message}); check the password in the URL`;
  }
  if (/Invalid URL|getaddrinfo/i.test(message)) return `cannot connect to the database at ${where} (${message}); ${source}`;
  return undefined;
}

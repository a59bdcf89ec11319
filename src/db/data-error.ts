// PostgreSQL errors told apart: the statement refused for the data it carried, or the database not
// reachable or not answering (an outage, handled as one).

/**
 * Whether PostgreSQL refused the statement for the data it carried (SQLSTATE classes 22 data exception,
 * 23 integrity constraint, 54 program limit) rather than because it could not be reached or answered.
 */
export function isDataError(err: unknown): boolean {
  const code = (err as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && /^(22|23|54)/.test(code);
}

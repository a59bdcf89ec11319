// The agent's own settings in its environment: its configuration (JOBSD_*) and its database
// credentials (DATABASE_URL, PG*). They hold the API token, the database password and the SMTP URL,
// so a command does not inherit them, and a job file's ${VAR} cannot read the JOBSD_* ones (design §9).

/** Readable by job files although it is a JOBSD_* variable: the environment name, for labels and overlays. */
const READABLE = new Set(['JOBSD_ENV']);

/** Variables that are the agent's own settings: removed from a command's inherited environment. */
export function isAgentSetting(name: string): boolean {
  return name.startsWith('JOBSD_') || name === 'DATABASE_URL' || /^PG[A-Z_]+$/.test(name);
}

/** JOBSD_* settings that a job file's ${VAR} cannot read (JOBSD_ENV can). */
export function isHiddenFromJobFiles(name: string): boolean {
  return name.startsWith('JOBSD_') && !READABLE.has(name);
}

/** `env` without the agent's own settings: what a command inherits. */
export function withoutAgentSettings(env: Readonly<Record<string, string | undefined>>): Record<string, string | undefined> {
  const out: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(env)) if (!isAgentSetting(name)) out[name] = value;
  return out;
}

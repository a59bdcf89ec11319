// Which directory entries are job files, and in which format.

export type FileFormat = 'json' | 'json5' | 'yaml';

const FORMATS: Record<string, FileFormat> = { '.json': 'json', '.json5': 'json5', '.yaml': 'yaml', '.yml': 'yaml' };

// Editor and package-manager leftovers: never jobs, even with a job extension in the middle.
const LEFTOVER = /(~|\.swp|\.swx|\.tmp|\.bak|\.orig|\.dpkg-[a-z]+|\.rpm[a-z]*)$|^#.*#$/;

export function formatOf(name: string): FileFormat | undefined {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? FORMATS[name.slice(dot).toLowerCase()] : undefined;
}

/** `_defaults.yaml` and friends: merged under every job, not a job itself. */
export function isDefaultsFile(name: string): boolean {
  return /^_defaults\.(ya?ml|json5?)$/i.test(name);
}

/** A job file: a job extension, not hidden (`.`), not private (`_`), not an editor or tool leftover. */
export function isJobFileName(name: string): boolean {
  if (name.startsWith('.') || name.startsWith('_')) return false;
  if (LEFTOVER.test(name)) return false;
  return formatOf(name) !== undefined;
}

/** The id a job gets when its file does not set one: the name without its extension. */
export function idFromFileName(name: string): string {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? name.slice(0, dot) : name;
}

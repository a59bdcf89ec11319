// Who may have written a job file. Whoever can write jobs.d, `_defaults` or a job file runs code as the
// agent's user, so, as cron does, a file or directory writable by others, or owned by anyone but the
// agent's user or root, is refused (unless --allow-insecure-files). Symlinks are judged by their targets:
// callers pass the stat of what the link points to. Pure: the caller stats, this judges.

/** What the judgement needs of a stat (node:fs Stats has both). */
export interface Ownership {
  mode: number;
  uid: number;
}

/** Read once: a system call per job file was 4 % of a start with 100,000 files. The agent never changes user. */
const UID = process.getuid?.();

/** The agent's own uid; undefined where there are no uids (Windows), and then nothing is judged by owner. */
export function agentUid(): number | undefined {
  return UID;
}

const quote = (p: string) => (/^[\w@%+=:,./-]+$/.test(p) ? p : `'${p.replaceAll("'", "'\\''")}'`);

function ownerProblem(what: string, stat: Ownership, uid: number | undefined, where: string): string | undefined {
  if (uid === undefined || stat.uid === 0 || stat.uid === uid) return undefined;
  const owners = uid === 0 ? 'root' : `the agent's user (uid ${uid}) or root`;
  return `refused: the ${what} is owned by uid ${stat.uid}, not by ${owners}; run chown ${uid === 0 ? 'root' : uid} ${quote(where)}, or start with --allow-insecure-files`;
}

/** Why a job file (or `_defaults`) must not be loaded, or undefined when it may. */
export function fileTrustProblem(stat: Ownership, uid: number | undefined, file: string): string | undefined {
  if ((stat.mode & 0o002) !== 0) {
    return `refused: the file is writable by others (mode ${(stat.mode & 0o777).toString(8)}); run chmod o-w ${quote(file)}, or start with --allow-insecure-files`;
  }
  return ownerProblem('file', stat, uid, file);
}

/** Why no file of a jobs directory may be loaded, or undefined when they may. */
export function directoryTrustProblem(stat: Ownership, uid: number | undefined, dir: string): string | undefined {
  if ((stat.mode & 0o002) !== 0) {
    return `refused: the jobs directory is writable by others (mode ${(stat.mode & 0o777).toString(8)}), so anyone could add a job; run chmod o-w ${quote(dir)}, or start with --allow-insecure-files`;
  }
  return ownerProblem('jobs directory', stat, uid, dir);
}

/** A key that changes whenever the judgement of a file could (part of the reloader's fingerprint). */
export function trustKey(stat: Ownership): string {
  return `${(stat.mode & 0o002) !== 0 ? 'o+w' : ''}:${stat.uid}`;
}

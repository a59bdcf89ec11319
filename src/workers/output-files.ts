// The files a command leaves in JOBSD_OUTPUT_DIR (README, "Files a command leaves"): a private directory
// made for each attempt, read once the command's process group is gone (size-capped, secrets scrubbed),
// then removed. The result lists them (name, size, content type); their contents stay in memory with the
// result until its notifications are sent (`notify.email.attach`), and never reach the database.
import { lstat, mkdtemp, open, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { scrubText } from '../redact.ts';

export interface OutputLimits {
  /** A file larger than this is listed, not kept. */
  fileBytes: number;
  /** Files past this total are listed, not kept. */
  totalBytes: number;
  /** Entries past this many are not looked at. */
  files: number;
}

export const OUTPUT_LIMITS: OutputLimits = { fileBytes: 1024 * 1024, totalBytes: 5 * 1024 * 1024, files: 100 };

/** One file as the result lists it. */
export interface OutputListing {
  name: string;
  size: number;
  content_type: string;
  /** Its contents kept with the result, for `notify.email.attach`; false: not asked for, over a limit, or not a regular file. */
  kept: boolean;
  /** Why it was not kept. */
  reason?: string;
}

/** A kept file, with its (scrubbed) contents. */
export interface OutputFile {
  name: string;
  contentType: string;
  content: Buffer;
}

export interface CollectedOutput {
  listing: OutputListing[];
  files: OutputFile[];
  /** Entries not looked at (past `limits.files`). */
  skipped: number;
}

const CONTENT_TYPES: Record<string, string> = {
  '.csv': 'text/csv',
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.log': 'text/plain',
  '.tsv': 'text/tab-separated-values',
  '.html': 'text/html',
  '.md': 'text/markdown',
  '.xml': 'application/xml',
  '.pdf': 'application/pdf',
  '.png': 'image/png',
  '.gz': 'application/gzip',
  '.zip': 'application/zip',
};

/** The content type a file's extension gives; unknown extensions: application/octet-stream. */
export function contentTypeOf(name: string): string {
  const dot = name.lastIndexOf('.');
  return (dot > 0 && CONTENT_TYPES[name.slice(dot).toLowerCase()]) || 'application/octet-stream';
}

/** The directory's base: the OS temp directory (TMPDIR), unless given. */
export function outputBase(): string {
  return tmpdir();
}

const PREFIX = 'jobsd-output-';

/** Makes the attempt's empty directory, mode 0700 (mkdtemp's), under `base`; its name holds this process's pid. */
export async function makeOutputDir(base: string = outputBase()): Promise<string> {
  return mkdtemp(path.join(base, `${PREFIX}${process.pid}-`));
}

function processGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/**
 * Removes the output directories under `base` left by processes that are gone (an agent killed mid-run, so
 * its `finally` never ran): those whose name holds the pid of no living process. Returns their names.
 */
export async function sweepOutputDirs(base: string = outputBase()): Promise<string[]> {
  const names = await readdir(base).catch(() => [] as string[]);
  const removed: string[] = [];
  for (const name of names) {
    const pid = new RegExp(`^${PREFIX}(\\d+)-[^/]+$`).exec(name)?.[1];
    if (pid === undefined || Number(pid) === process.pid || !processGone(Number(pid))) continue;
    const st = await lstat(path.join(base, name)).catch(() => undefined);
    // Only a directory of this user's (mkdtemp's mode): never another user's, nor a link planted there.
    if (!st?.isDirectory() || st.uid !== process.getuid?.()) continue;
    if ((await removeOutputDir(path.join(base, name))) === undefined) removed.push(name);
  }
  return removed;
}

/** Removes the directory and whatever is in it; never throws (a failure is the caller's to log). */
export async function removeOutputDir(dir: string): Promise<Error | undefined> {
  try {
    await rm(dir, { recursive: true, force: true, maxRetries: 2 });
    return undefined;
  } catch (err) {
    return err as Error;
  }
}

/**
 * Replaces the secrets in a file's bytes, byte for byte outside them: the bytes are read as latin1, where
 * each byte is one character, and each secret is looked for as the latin1 reading of its UTF-8 bytes.
 */
export function scrubBytes(content: Buffer, secrets: ReadonlySet<string>): Buffer {
  const text = content.toString('latin1');
  const ascii = [...secrets].every((s) => /^[\x00-\x7f]*$/.test(s));
  const scrubbed = ascii ? scrubText(text, secrets) : scrubText(text, [...secrets].map((s) => Buffer.from(s, 'utf8').toString('latin1')));
  return scrubbed === text ? content : Buffer.from(scrubbed, 'latin1');
}

async function readAtMost(file: string, bytes: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/**
 * Reads what the command left in `dir`: regular files at its top level, in name order, up to the limits;
 * the contents only of those `wanted`.
 * Symbolic links, directories and other entries are listed, not followed or kept.
 */
export async function collectOutput(
  dir: string,
  secrets: ReadonlySet<string>,
  limits: OutputLimits = OUTPUT_LIMITS,
  /** Which files' contents to keep (the others are listed only): those an email attaches. */
  wanted: (name: string) => boolean = () => true,
): Promise<CollectedOutput> {
  const names = (await readdir(dir)).sort();
  const listing: OutputListing[] = [];
  const files: OutputFile[] = [];
  let total = 0;
  for (const name of names.slice(0, limits.files)) {
    const file = path.join(dir, name);
    const content_type = contentTypeOf(name);
    const st = await lstat(file).catch(() => undefined);
    if (!st) continue; // removed meanwhile
    if (!st.isFile()) {
      listing.push({ name, size: 0, content_type, kept: false, reason: st.isSymbolicLink() ? 'a symbolic link (not followed)' : 'not a regular file' });
      continue;
    }
    if (!wanted(name)) {
      listing.push({ name, size: st.size, content_type, kept: false, reason: 'not attached (notify.email.attach)' });
      continue;
    }
    if (st.size > limits.fileBytes) {
      listing.push({ name, size: st.size, content_type, kept: false, reason: `larger than ${limits.fileBytes} bytes` });
      continue;
    }
    if (total + st.size > limits.totalBytes) {
      listing.push({ name, size: st.size, content_type, kept: false, reason: `over the ${limits.totalBytes} bytes kept per run` });
      continue;
    }
    // Read no more than the size seen: a file still growing (an escaped process) is cut there.
    const content = scrubBytes(await readAtMost(file, st.size), secrets);
    total += st.size;
    listing.push({ name, size: content.length, content_type, kept: true });
    files.push({ name, contentType: content_type, content });
  }
  return { listing, files, skipped: Math.max(0, names.length - limits.files) };
}

/** The kept files of results, by result object: in memory only, gone with the result. */
const keptFiles = new WeakMap<object, readonly OutputFile[]>();

/** Keeps `files` with `result` (for its notifications). */
export function keepFiles(result: object, files: readonly OutputFile[]): void {
  if (files.length > 0) keptFiles.set(result, files);
}

/** The files kept with `result`; none: empty. */
export function filesOf(result: object): readonly OutputFile[] {
  return keptFiles.get(result) ?? [];
}

// Checking job files (and `_defaults`) against their last read, for the reloader (src/catalog/reload.ts):
// a file's bytes with a fingerprint of them, of what decides whether it is trusted (its o+w bit and owner)
// and of a salt (the `_defaults` it is merged with); the signature of its stat, by which an unchanged file
// is not read again; and the periodic rescan's listing of the files whose stat changed.

import { createHash } from 'node:crypto';
import { opendirSync, readFileSync, statSync, type Dir, type Stats } from 'node:fs';
import path from 'node:path';
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import type { FileContent } from '../definitions/load.ts';
import { isDefaultsFile, isJobFileName } from '../files/names.ts';
import { trustKey, type Ownership } from '../files/trust.ts';

/** Directory entries looked at per slice of the periodic rescan; the event loop runs between slices. */
const RESCAN_SLICE = 1_000;

/** sha256 of the bytes and of what decides whether the file is trusted (its o+w bit and owner). */
function fingerprint(bytes: Buffer, owner: Ownership, salt: string): string {
  return createHash('sha256')
    .update(bytes)
    .update(`\0${trustKey(owner)}\0`)
    .update(salt)
    .digest('hex');
}

export type FingerprintedRead = { kind: 'gone' } | { kind: 'file'; hash: string; content: FileContent; signature: string } | { kind: 'same' } | { kind: 'unreadable' };

/** What a stat says about a file's content, with the salt its fingerprint was taken with. */
export function signatureOf(stat: Stats, salt: string): string {
  return `${stat.dev}:${stat.ino}:${stat.size}:${stat.mode}:${stat.uid}:${stat.mtimeMs}:${stat.ctimeMs}:${salt}`;
}

/** Reads a file, unless `known` is the signature it still has (then `same`); one over `maxBytes` is not read. */
export function readFingerprinted(file: string, salt: string, maxBytes: number, known?: string): FingerprintedRead {
  try {
    const stat = statSync(file); // follows symlinks: ConfigMap entries are links through ..data
    if (!stat.isFile()) return { kind: 'gone' };
    const signature = signatureOf(stat, salt);
    if (known === signature) return { kind: 'same' };
    const bytes = stat.size > maxBytes ? Buffer.from(signature) : readFileSync(file);
    const content = { bytes: stat.size > maxBytes ? Buffer.alloc(0) : bytes, size: stat.size, mode: stat.mode, uid: stat.uid };
    return { kind: 'file', hash: fingerprint(bytes, stat, salt), content, signature };
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ELOOP' ? { kind: 'gone' } : { kind: 'unreadable' };
  }
}

/**
 * The job files of the directory, and those whose stat is not the signature `known` gives for them (their
 * last read, salted with `salt`), or that are new; and the `_defaults` file, if any. Listed and stat'ed in
 * slices of RESCAN_SLICE entries with the event loop run between them (100,000 files take half a second
 * to stat: the ticker's timers must not wait for that).
 */
export async function listSuspects(dir: string, salt: string, known: (file: string) => string | undefined): Promise<{ present: Set<string>; suspects: Set<string>; defaultsFile?: string }> {
  const present = new Set<string>();
  const changed = new Set<string>();
  let defaultsFile: string | undefined;
  const handle: Dir = opendirSync(dir, { bufferSize: 256 });
  const prefix = path.join(dir, '_').slice(0, -1); // path.join(dir, name) for a directory entry's name, without its cost
  try {
    for (let done = false; !done; await yieldToLoop()) {
      for (let i = 0; i < RESCAN_SLICE; i++) {
        const entry = handle.readSync();
        if (entry === null) {
          done = true;
          break;
        }
        const file = prefix + entry.name;
        if (isDefaultsFile(entry.name)) defaultsFile = defaultsFile === undefined || file < defaultsFile ? file : defaultsFile;
        if (!isJobFileName(entry.name)) continue;
        present.add(file);
        const last = known(file);
        try {
          const stat = statSync(file);
          if (last === undefined || !stat.isFile() || signatureOf(stat, salt) !== last) changed.add(file);
        } catch {
          changed.add(file);
        }
      }
    }
  } finally {
    handle.closeSync();
  }
  return { present, suspects: changed, ...(defaultsFile ? { defaultsFile } : {}) };
}

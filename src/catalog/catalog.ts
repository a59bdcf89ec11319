// The catalog: per job file, its content hash, its last good definition and its current errors;
// ids resolved across files (the file that claimed an id first keeps it, later claimants wait).
// Pure: the reloader feeds it load results and it answers with what changed, per job id.

import { claimIds } from '../definitions/directory.ts';
import { chainErrors } from '../definitions/chains.ts';
import { formatFileError, type FileError } from '../definitions/errors.ts';
import type { LoadResult } from '../definitions/load.ts';
import type { JobDefinition } from '../definitions/types.ts';
import type { Location } from '../files/locations.ts';

export interface CatalogChange {
  kind: 'added' | 'changed' | 'removed';
  id: string;
  /** The definition now in force (added, changed). */
  definition?: JobDefinition;
  /** The definition that was in force (changed, removed). */
  previous?: JobDefinition;
}

export interface CatalogUpdate {
  file: string;
  result: LoadResult | 'gone';
  /** Fingerprint of what was loaded (bytes, mode, defaults), so unchanged files can be skipped. */
  hash?: string;
}

export interface FileStatus {
  file: string;
  /** The id of the file's last good definition, running or waiting for a duplicate id. */
  id?: string;
  ok: boolean;
  errors: FileError[];
  /** Set when this file's definition is the one in force for its id. */
  runningHash?: string;
}

interface FileState {
  hash?: string;
  /** The last good definition: it stays in force while the file is in error. */
  good?: { definition: JobDefinition; idAt?: Location; afterAt?: Location };
  /** When `good` claimed its id; the smallest claim among a duplicate id's files wins. */
  claim: number;
  /** Errors of the latest load; empty when it loaded. */
  errors: FileError[];
  /** When the file was first seen (since it was last gone): file errors are listed in that order. */
  seen: number;
}

/**
 * Every answer that is asked for at each change (the file errors, the number of jobs, a job's
 * definition) is kept up to date per change, so that an edit of one file among 100,000 costs the
 * catalog the work of that file; only definitions() and files() walk every job.
 */
export class Catalog {
  readonly #files = new Map<string, FileState>();
  /** id → the files whose last good definition has that id. */
  readonly #claimants = new Map<string, Set<string>>();
  /** id → the file whose definition is in force: the smallest claim among the id's claimants. */
  readonly #owners = new Map<string, string>();
  /** Files with errors now, or whose definition waits for its id (a duplicate): what fileErrors() reads. */
  readonly #problems = new Set<string>();
  /** Ids whose definition in force is a chained job (`schedule.after`). */
  readonly #chained = new Set<string>();
  #sequence = 0;
  #seen = 0;
  /** The ids, sorted, until one is added or goes. */
  #sortedIds: string[] | undefined;
  /** definitions(), until the next batch. */
  #definitions: JobDefinition[] | undefined;
  /** chainErrors(), until the next batch. */
  #chainErrors: Map<string, FileError> | undefined;
  /** chainedAfter(), by upstream id, until the next batch (a run's end asks it, on every agent). */
  #after: Map<string, JobDefinition[]> | undefined;

  /**
   * Applies one batch of load results. The id → definition map is compared before and after the
   * whole batch, per touched id, so a rename that keeps the id is one `changed`.
   */
  apply(updates: readonly CatalogUpdate[]): CatalogChange[] {
    const touched = new Set<string>();
    const files = new Set<string>();
    for (const { file, result } of updates) {
      files.add(file);
      const old = this.#files.get(file)?.good?.definition.id;
      if (old !== undefined) touched.add(old);
      if (result !== 'gone' && result.ok) touched.add(result.definition.id);
    }
    const before = new Map([...touched].map((id) => [id, this.get(id)] as const));

    for (const update of updates) this.#update(update);
    for (const id of touched) this.#elect(id);
    for (const file of files) this.#judge(file);
    for (const id of touched) for (const file of this.#claimants.get(id) ?? []) this.#judge(file);
    if (updates.length) {
      this.#definitions = undefined;
      this.#chainErrors = undefined;
      this.#after = undefined;
    }

    const changes: CatalogChange[] = [];
    for (const id of touched) {
      const previous = before.get(id);
      const definition = this.get(id);
      if (definition?.schedule.trigger.kind === 'after') this.#chained.add(id);
      else this.#chained.delete(id);
      if (previous && !definition) changes.push({ kind: 'removed', id, previous });
      else if (!previous && definition) changes.push({ kind: 'added', id, definition });
      else if (previous && definition && previous.hash !== definition.hash) changes.push({ kind: 'changed', id, definition, previous });
    }
    return changes;
  }

  /** The definitions in force, one per id, sorted by id (including `enabled: false` ones). */
  definitions(): JobDefinition[] {
    this.#sortedIds ??= [...this.#claimants.keys()].sort();
    this.#definitions ??= this.#sortedIds.map((id) => this.get(id)).filter((d) => d !== undefined);
    return [...this.#definitions];
  }

  /** How many jobs are in force: definitions().length, without building it. */
  get size(): number {
    return this.#owners.size;
  }

  /** The chained jobs whose `after` names this job (enabled or not, in error or not), in id order. */
  chainedAfter(upstreamId: string): readonly JobDefinition[] {
    this.#after ??= Map.groupBy(this.chained(), (d) => (d.schedule.trigger as { job: string }).job);
    return this.#after.get(upstreamId) ?? [];
  }

  /** The chained jobs (`schedule.after`) in force, sorted by id: what a run's end may fire. */
  chained(): JobDefinition[] {
    return [...this.#chained]
      .sort()
      .map((id) => this.get(id))
      .filter((d) => d !== undefined);
  }

  get(id: string): JobDefinition | undefined {
    const owner = this.#owners.get(id);
    return owner === undefined ? undefined : this.#files.get(owner)?.good?.definition;
  }

  has(file: string): boolean {
    return this.#files.has(file);
  }

  /** Every file the catalog holds (loaded, in error, or waiting for its id), in no particular order. */
  fileNames(): IterableIterator<string> {
    return this.#files.keys();
  }

  /** The fingerprint recorded with the file's latest load. */
  hashOf(file: string): string | undefined {
    return this.#files.get(file)?.hash;
  }

  /**
   * Chained jobs whose `after` names no job in force, or closes a cycle, by id: they are not fired
   * (src/definitions/chains.ts), and their errors are among fileErrors().
   */
  chainErrors(): Map<string, FileError> {
    if (this.#chained.size === 0) return new Map();
    if (!this.#chainErrors) {
      const afterAt = new Map<JobDefinition, Location | undefined>();
      for (const id of this.#chained) {
        const good = this.#files.get(this.#owners.get(id)!)?.good;
        if (good) afterAt.set(good.definition, good.afterAt);
      }
      this.#chainErrors = chainErrors(this.definitions(), (d) => afterAt.get(d));
    }
    return new Map(this.#chainErrors);
  }

  /** Current errors of every file, also of files whose last good version stays in force. */
  fileErrors(): FileError[] {
    const seen = new Set<string>();
    const errors: FileError[] = [...this.chainErrors().values()];
    const order = (file: string) => this.#files.get(file)?.seen ?? Infinity;
    for (const file of [...this.#problems].sort((a, b) => order(a) - order(b))) {
      for (const error of this.#errorsOf(file)) {
        const key = `${error.code} ${formatFileError(error)}`; // a broken _defaults is every job's error
        if (seen.has(key)) continue;
        seen.add(key);
        errors.push(error);
      }
    }
    return errors;
  }

  files(): FileStatus[] {
    return [...this.#files.keys()].sort().map((file) => this.#status(file));
  }

  /** Alias of files(). */
  fileStatuses(): FileStatus[] {
    return this.files();
  }

  #update({ file, result, hash }: CatalogUpdate): void {
    const state = this.#files.get(file);
    if (result === 'gone') {
      if (state?.good) this.#unclaim(state.good.definition.id, file);
      this.#files.delete(file);
      return;
    }
    const next: FileState = state ?? { claim: 0, errors: [], seen: ++this.#seen };
    if (hash === undefined) delete next.hash;
    else next.hash = hash;
    if (!result.ok) {
      next.errors = result.errors;
    } else {
      const id = result.definition.id;
      if (next.good?.definition.id !== id) {
        if (next.good) this.#unclaim(next.good.definition.id, file);
        next.claim = ++this.#sequence;
        let claimants = this.#claimants.get(id);
        if (!claimants) {
          this.#claimants.set(id, (claimants = new Set()));
          this.#sortedIds = undefined;
        }
        claimants.add(file);
      }
      next.good = { definition: result.definition, ...(result.idAt ? { idAt: result.idAt } : {}), ...(result.afterAt ? { afterAt: result.afterAt } : {}) };
      next.errors = [];
    }
    this.#files.set(file, next);
  }

  #unclaim(id: string, file: string): void {
    const claimants = this.#claimants.get(id);
    claimants?.delete(file);
    if (claimants?.size === 0) {
      this.#claimants.delete(id);
      this.#sortedIds = undefined;
    }
  }

  /** Records which of the id's claimants is in force. */
  #elect(id: string): void {
    let owner: string | undefined;
    let first = Infinity;
    for (const file of this.#claimants.get(id) ?? []) {
      const claim = this.#files.get(file)?.claim ?? Infinity;
      if (claim < first) [owner, first] = [file, claim];
    }
    if (owner === undefined) this.#owners.delete(id);
    else this.#owners.set(id, owner);
  }

  /** Records whether the file has errors to show (its own, or waiting for its id). */
  #judge(file: string): void {
    const state = this.#files.get(file);
    const good = state?.good;
    if (state && (state.errors.length > 0 || (good && this.#owners.get(good.definition.id) !== file))) this.#problems.add(file);
    else this.#problems.delete(file);
  }

  #errorsOf(file: string): FileError[] {
    const state = this.#files.get(file);
    if (!state) return [];
    const good = state.good;
    const owner = good ? this.#owners.get(good.definition.id) : undefined;
    if (!good || owner === undefined || owner === file) return state.errors;
    // The same message as `jobsd validate` gives: the owner first, this file waiting.
    const ownerDefinition = this.#files.get(owner)?.good?.definition ?? good.definition;
    const [, waiting] = claimIds([
      { file: owner, result: { ok: true, definition: ownerDefinition } },
      { file, result: { ok: true, ...good } },
    ]);
    return [...state.errors, ...(waiting && !waiting.result.ok ? waiting.result.errors : [])];
  }

  #status(file: string): FileStatus {
    const state = this.#files.get(file);
    const errors = this.#errorsOf(file);
    const definition = state?.good?.definition;
    return {
      file,
      ...(definition ? { id: definition.id } : {}),
      ok: errors.length === 0,
      errors,
      ...(definition && this.#owners.get(definition.id) === file ? { runningHash: definition.hash } : {}),
    };
  }
}

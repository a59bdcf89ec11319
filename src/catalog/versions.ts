// The definitions an agent runs queued fires with. A queued fire carries only its job's id and definition
// hash, never the definition (the database holds no secret value, design §9): the agent that claims it
// resolves the reference from its own jobs.d, with its own secrets. The rule:
// - the version it was queued with, when this agent has it: the one in force, or one of the last few it
//   held before (a fire queued before an edit runs the version it was queued with);
// - otherwise the job's version in force here (the edit reached the queuing agent first, or the agents'
//   environments differ: the fire runs the version this agent would queue);
// - a job this agent does not know is waited for briefly (a file just added may not have reached this
//   agent's watch yet), then the attempt fails: its jobs.d lacks the job.
// Fed by the catalog's changes; pure but for the wait.

import type { CatalogChange } from './catalog.ts';
import type { JobDefinition } from '../definitions/types.ts';

/** Earlier versions kept per job, besides the one in force. */
const EARLIER_VERSIONS = 4;

export interface ResolvedDefinition {
  definition: JobDefinition;
  /** It is the version the fire was queued with. */
  exact: boolean;
}

export class DefinitionVersions {
  readonly #current = new Map<string, JobDefinition>();
  /** Most recent first. */
  readonly #earlier = new Map<string, JobDefinition[]>();
  readonly #waiting = new Set<() => void>();

  apply(changes: readonly CatalogChange[]): void {
    for (const change of changes) {
      if (change.previous) this.#remember(change.previous);
      if (change.definition) this.#current.set(change.id, change.definition);
      else this.#current.delete(change.id);
    }
    for (const wake of [...this.#waiting]) wake();
  }

  resolve(jobId: string, hash: string | undefined): ResolvedDefinition | undefined {
    const current = this.#current.get(jobId);
    if (current && current.hash === hash) return { definition: current, exact: true };
    const earlier = this.#earlier.get(jobId)?.find((d) => d.hash === hash);
    if (earlier) return { definition: earlier, exact: true };
    return current ? { definition: current, exact: false } : undefined;
  }

  /** `resolve`, waiting up to `waitMs` for a job this agent does not know yet to be loaded. */
  async resolveSoon(jobId: string, hash: string | undefined, waitMs: number, signal?: AbortSignal): Promise<ResolvedDefinition | undefined> {
    const now = this.resolve(jobId, hash);
    if (now || waitMs <= 0) return now;
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.#waiting.delete(check);
        signal?.removeEventListener('abort', done);
        resolve(this.resolve(jobId, hash));
      };
      const check = () => {
        if (this.resolve(jobId, hash)) done();
      };
      const timer = setTimeout(done, waitMs);
      this.#waiting.add(check);
      signal?.addEventListener('abort', done, { once: true });
    });
  }

  #remember(def: JobDefinition): void {
    const list = (this.#earlier.get(def.id) ?? []).filter((d) => d.hash !== def.hash);
    list.unshift(def);
    this.#earlier.set(def.id, list.slice(0, EARLIER_VERSIONS));
  }
}

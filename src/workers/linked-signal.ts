// One AbortSignal for a run that ends when any of its sources does: what `AbortSignal.any` gives, without
// its cost. Node's composite signals keep weak references to their sources and refresh them on every
// `aborted` read and listener added; on the path from a run's due time to its request that was a third of
// the agent's time (docs/benchmarks.md, "The start of 100 runs due at one instant"). The sources here
// are a run's own (its claim, its give-back, its timeout), so plain listeners, removed at the end, do.

export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Aborts the linked signal itself (a timeout), with `reason`. */
  abort(reason: unknown): void;
  /** Stops following the sources. */
  dispose(): void;
}

/** A signal aborted with the reason of the first of `sources` to abort (at once if one has). */
export function linkedSignal(sources: ReadonlyArray<AbortSignal | undefined>): LinkedSignal {
  const controller = new AbortController();
  const followed: Array<[AbortSignal, () => void]> = [];
  const dispose = () => {
    for (const [source, listener] of followed) source.removeEventListener('abort', listener);
    followed.length = 0;
  };
  for (const source of sources) {
    if (source === undefined) continue;
    if (source.aborted) {
      dispose();
      controller.abort(source.reason);
      break;
    }
    const listener = () => {
      dispose();
      controller.abort(source.reason);
    };
    source.addEventListener('abort', listener, { once: true });
    followed.push([source, listener]);
  }
  return {
    signal: controller.signal,
    abort: (reason) => {
      dispose();
      controller.abort(reason);
    },
    dispose,
  };
}

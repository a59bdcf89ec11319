// The two ways a command's process is forked: by the agent itself, and by its spawn helper
// (src/workers/spawner.ts). The command tests run once for each.
import assert from 'node:assert/strict';
import { Spawner } from '../../src/workers/spawner.ts';
import type { RunContext } from '../../src/workers/result.ts';
import { memoryLogger, runContext } from './definitions.ts';

export interface SpawnPath {
  name: string;
  /** The run context of a command forked this way. */
  runContext(partial?: Partial<RunContext>): RunContext;
  before(): Promise<void>;
  after(): void;
}

export function spawnPaths(): SpawnPath[] {
  let spawner: Spawner | undefined;
  return [
    { name: 'forked by the agent', runContext, before: async () => {}, after: () => {} },
    {
      name: 'forked by the spawn helper',
      runContext: (partial = {}) => runContext({ spawner: spawner!, ...partial }),
      before: async () => {
        spawner = new Spawner(memoryLogger().logger);
        assert.equal(await spawner.ready(), true, 'the spawn helper starts');
      },
      after: () => spawner?.stop(),
    },
  ];
}

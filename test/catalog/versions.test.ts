// The rule a queued fire's reference (job id, definition hash) is resolved by (src/catalog/versions.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { DefinitionVersions } from '../../src/catalog/versions.ts';
import { commandJob } from '../helpers/definitions.ts';

const v1 = commandJob({ id: 'j', hash: 'h1' });
const v2 = commandJob({ id: 'j', hash: 'h2' });

test('a fire queued before an edit runs the version it was queued with; an unknown version runs the one in force', () => {
  const versions = new DefinitionVersions();
  versions.apply([{ kind: 'added', id: 'j', definition: v1 }]);
  versions.apply([{ kind: 'changed', id: 'j', definition: v2, previous: v1 }]);
  assert.deepEqual(versions.resolve('j', 'h2'), { definition: v2, exact: true });
  assert.deepEqual(versions.resolve('j', 'h1'), { definition: v1, exact: true });
  assert.deepEqual(versions.resolve('j', 'h-from-another-agent'), { definition: v2, exact: false });
  assert.equal(versions.resolve('other', 'h1'), undefined);
});

test('a removed job resolves only the versions it had; a few earlier versions are kept, not all', () => {
  const versions = new DefinitionVersions();
  let previous = commandJob({ id: 'j', hash: 'h0' });
  versions.apply([{ kind: 'added', id: 'j', definition: previous }]);
  for (let i = 1; i <= 6; i++) {
    const next = commandJob({ id: 'j', hash: `h${i}` });
    versions.apply([{ kind: 'changed', id: 'j', definition: next, previous }]);
    previous = next;
  }
  versions.apply([{ kind: 'removed', id: 'j', previous }]);
  assert.equal(versions.resolve('j', 'h6')?.exact, true);
  assert.equal(versions.resolve('j', 'h3')?.exact, true);
  assert.equal(versions.resolve('j', 'h1'), undefined);
  assert.equal(versions.resolve('j', 'unknown'), undefined);
});

test('resolveSoon waits for a job that is not loaded yet, and gives up after its wait', async () => {
  const versions = new DefinitionVersions();
  const waiting = versions.resolveSoon('j', 'h1', 5_000);
  setImmediate(() => versions.apply([{ kind: 'added', id: 'j', definition: v1 }]));
  assert.deepEqual(await waiting, { definition: v1, exact: true });
  const started = performance.now();
  assert.equal(await versions.resolveSoon('nope', 'h', 50), undefined);
  assert.ok(performance.now() - started >= 45);
});

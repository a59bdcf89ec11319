// The catalog keeps its answers (the definitions in force, the file errors, the chained jobs) up to date
// per change instead of recomputing them from every file: random batches of loads, breaks, renames,
// duplicate ids, chained jobs and deletions give the same answers as the catalog that recomputed them.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { Catalog, type CatalogChange, type CatalogUpdate } from '../../src/catalog/catalog.ts';
import { ERROR_CODES } from '../../src/definitions/errors.ts';
import type { LoadResult } from '../../src/definitions/load.ts';
import { commandJob } from '../helpers/definitions.ts';
import { NaiveCatalog } from '../helpers/naive-catalog.ts';

const FILES = ['a.yaml', 'b.yaml', 'c.yaml', 'd.yaml', 'e.yaml'];
const IDS = ['x', 'y', 'z'];

const result = fc.oneof(
  fc.constant<'gone'>('gone'),
  fc.record({ id: fc.constantFrom(...IDS), version: fc.integer({ min: 1, max: 3 }), after: fc.option(fc.constantFrom(...IDS, 'missing'), { nil: undefined }) }).map(
    ({ id, version, after }) => ({ id, version, after }),
  ),
  fc.constant<'broken'>('broken'),
);

function loadResult(file: string, r: { id: string; version: number; after: string | undefined } | 'broken'): LoadResult {
  if (r === 'broken') return { ok: false, errors: [{ code: ERROR_CODES.schema, file, line: 2, column: 3, field: 'schedule', message: 'bad' }] };
  const schedule = r.after === undefined ? {} : { schedule: { ...commandJob().schedule, trigger: { kind: 'after' as const, job: r.after, on: ['succeeded' as const] } } };
  return {
    ok: true,
    definition: commandJob({ id: r.id, file, hash: `${r.id}@${file}#${r.version}${r.after ?? ''}`, ...schedule }),
    idAt: { file, line: 1, column: 5 },
    ...(r.after === undefined ? {} : { afterAt: { file, line: 3, column: 10 } }),
  };
}

const summary = (changes: CatalogChange[]) => changes.map((c) => `${c.kind} ${c.id} ${c.definition?.hash ?? ''} ${c.previous?.hash ?? ''}`).sort();

test('the catalog answers as the one that recomputed everything, for any sequence of batches', () => {
  const batch = fc.array(fc.record({ file: fc.constantFrom(...FILES), result }), { minLength: 1, maxLength: 4 });
  fc.assert(
    fc.property(fc.array(batch, { minLength: 1, maxLength: 12 }), (batches) => {
      const catalog = new Catalog();
      const naive = new NaiveCatalog();
      for (const updates of batches) {
        const given: CatalogUpdate[] = updates.map(({ file, result: r }) => ({ file, result: r === 'gone' ? 'gone' : loadResult(file, r), hash: JSON.stringify(r) }));
        assert.deepEqual(summary(catalog.apply(given)), summary(naive.apply(given)));
        assert.deepEqual(catalog.definitions(), naive.definitions());
        assert.equal(catalog.size, naive.definitions().length);
        assert.deepEqual(catalog.fileErrors(), naive.fileErrors());
        assert.deepEqual(catalog.chainErrors(), naive.chainErrors());
        assert.deepEqual(catalog.files(), naive.files());
        assert.deepEqual(catalog.chained(), naive.definitions().filter((d) => d.schedule.trigger.kind === 'after'));
        assert.deepEqual([...catalog.fileNames()].sort(), naive.files().map((f) => f.file));
        for (const id of [...IDS, 'missing']) assert.deepEqual(catalog.get(id), naive.get(id));
      }
    }),
    { numRuns: 500 },
  );
});

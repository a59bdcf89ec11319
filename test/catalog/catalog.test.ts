// The catalog, pure: last good definitions, duplicate ids, and the diff a batch produces.

import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { Catalog, type CatalogChange } from '../../src/catalog/catalog.ts';
import { ERROR_CODES, formatFileError, type FileError } from '../../src/definitions/errors.ts';
import { loadJobFile, type LoadResult } from '../../src/definitions/load.ts';
import { commandJob } from '../helpers/definitions.ts';

function good(id: string, file: string, hash = `${id}@${file}`, enabled = true): LoadResult {
  return { ok: true, definition: { ...commandJob({ id, file, hash, enabled }) }, idAt: { file, line: 1, column: 5 } };
}

function broken(file: string, message = 'schedule.cron: bad'): LoadResult {
  const error: FileError = { code: ERROR_CODES.schema, file, line: 2, column: 7, field: 'schedule', message };
  return { ok: false, errors: [error] };
}

const summary = (changes: CatalogChange[]) =>
  changes.map((c) => `${c.kind} ${c.id}${c.definition ? ` ${c.definition.file}` : ''}`).sort();

test('added, unchanged, changed, removed', () => {
  const catalog = new Catalog();
  assert.deepEqual(summary(catalog.apply([{ file: 'a.yaml', result: good('a', 'a.yaml', 'h1') }])), ['added a a.yaml']);
  assert.deepEqual(catalog.apply([{ file: 'a.yaml', result: good('a', 'a.yaml', 'h1') }]), [], 'the same hash is no change');
  const [changed] = catalog.apply([{ file: 'a.yaml', result: good('a', 'a.yaml', 'h2') }]);
  assert.equal(changed?.kind, 'changed');
  assert.equal(changed?.previous?.hash, 'h1');
  assert.equal(changed?.definition?.hash, 'h2');
  assert.equal(catalog.get('a')?.hash, 'h2');
  const [removed] = catalog.apply([{ file: 'a.yaml', result: 'gone' }]);
  assert.deepEqual({ kind: removed?.kind, id: removed?.id, previous: removed?.previous?.hash }, { kind: 'removed', id: 'a', previous: 'h2' });
  assert.deepEqual(catalog.definitions(), []);
  assert.deepEqual(catalog.files(), []);
});

test('a broken edit keeps the last good definition running and exposes its errors', () => {
  const catalog = new Catalog();
  catalog.apply([{ file: 'a.yaml', result: good('a', 'a.yaml', 'h1'), hash: 'bytes1' }]);
  assert.deepEqual(catalog.apply([{ file: 'a.yaml', result: broken('a.yaml'), hash: 'bytes2' }]), []);
  assert.equal(catalog.get('a')?.hash, 'h1');
  assert.equal(catalog.hashOf('a.yaml'), 'bytes2');
  assert.deepEqual(catalog.fileErrors().map(formatFileError), ['a.yaml:2:7: schedule: schedule.cron: bad']);
  assert.deepEqual(catalog.files().map(({ file, id, ok, runningHash, errors }) => ({ file, id, ok, runningHash, n: errors.length })), [
    { file: 'a.yaml', id: 'a', ok: false, runningHash: 'h1', n: 1 },
  ]);
  // Fixed with the same content as before: no change, no errors.
  assert.deepEqual(catalog.apply([{ file: 'a.yaml', result: good('a', 'a.yaml', 'h1') }]), []);
  assert.deepEqual(catalog.fileErrors(), []);
  // Deleted while broken: the last good version goes too.
  catalog.apply([{ file: 'a.yaml', result: broken('a.yaml') }]);
  assert.deepEqual(summary(catalog.apply([{ file: 'a.yaml', result: 'gone' }])), ['removed a']);
  assert.deepEqual(catalog.fileErrors(), []);
});

test('a file that never loaded is listed with its errors and no definition', () => {
  const catalog = new Catalog();
  assert.deepEqual(catalog.apply([{ file: 'b.yaml', result: broken('b.yaml') }]), []);
  assert.deepEqual(catalog.definitions(), []);
  assert.deepEqual(catalog.files().map((f) => [f.file, f.id, f.ok, f.runningHash]), [['b.yaml', undefined, false, undefined]]);
  assert.equal(catalog.fileErrors().length, 1);
});

test('a rename that keeps the id is one change, whatever the order within the batch', () => {
  for (const order of ['gone first', 'new first']) {
    const catalog = new Catalog();
    catalog.apply([{ file: 'old.yaml', result: good('job', 'old.yaml') }]);
    const gone = { file: 'old.yaml', result: 'gone' as const };
    const added = { file: 'new.yaml', result: good('job', 'new.yaml') };
    const changes = catalog.apply(order === 'gone first' ? [gone, added] : [added, gone]);
    assert.deepEqual(summary(changes), ['changed job new.yaml'], order);
    assert.equal(changes[0]?.previous?.file, 'old.yaml');
    assert.deepEqual(catalog.fileErrors(), [], order);
  }
});

test('duplicate ids: the first file keeps the id; the other waits, named in an error, and takes over', () => {
  const catalog = new Catalog();
  catalog.apply([{ file: 'a.yaml', result: good('x', 'a.yaml') }]);
  assert.deepEqual(catalog.apply([{ file: 'b.yaml', result: good('x', 'b.yaml') }]), []);
  assert.equal(catalog.get('x')?.file, 'a.yaml');
  const [error, ...more] = catalog.fileErrors();
  assert.equal(more.length, 0);
  assert.equal(error?.code, ERROR_CODES.duplicateId);
  assert.equal(error?.file, 'b.yaml');
  assert.deepEqual([error?.line, error?.column, error?.field], [1, 5, 'id']);
  assert.match(error?.message ?? '', /"x" is already the id of a\.yaml/);
  assert.deepEqual(
    catalog.files().map((f) => [f.file, f.ok, f.runningHash !== undefined]),
    [
      ['a.yaml', true, true],
      ['b.yaml', false, false],
    ],
  );

  // The owner breaks: its last good version keeps the id.
  assert.deepEqual(catalog.apply([{ file: 'a.yaml', result: broken('a.yaml') }]), []);
  assert.equal(catalog.get('x')?.file, 'a.yaml');
  assert.equal(catalog.fileErrors().length, 2);

  // The owner goes: the waiting file takes over.
  assert.deepEqual(summary(catalog.apply([{ file: 'a.yaml', result: 'gone' }])), ['changed x b.yaml']);
  assert.deepEqual(catalog.fileErrors(), []);

  // Coming back, a.yaml is now the later claimant.
  assert.deepEqual(catalog.apply([{ file: 'a.yaml', result: good('x', 'a.yaml') }]), []);
  assert.equal(catalog.get('x')?.file, 'b.yaml');
  assert.equal(catalog.fileErrors()[0]?.file, 'a.yaml');
});

test('duplicate ids: an owner that changes its id hands the old one over', () => {
  const catalog = new Catalog();
  catalog.apply([
    { file: 'a.yaml', result: good('x', 'a.yaml') },
    { file: 'b.yaml', result: good('x', 'b.yaml') },
  ]);
  assert.equal(catalog.get('x')?.file, 'a.yaml', 'within one batch, the first update claims first');
  assert.deepEqual(summary(catalog.apply([{ file: 'a.yaml', result: good('y', 'a.yaml') }])), ['added y a.yaml', 'changed x b.yaml']);
  assert.deepEqual(
    catalog.definitions().map((d) => `${d.id} ${d.file}`),
    ['x b.yaml', 'y a.yaml'],
  );
  // Changing back: b.yaml keeps x now.
  assert.deepEqual(summary(catalog.apply([{ file: 'a.yaml', result: good('x', 'a.yaml') }])), ['removed y']);
  assert.equal(catalog.get('x')?.file, 'b.yaml');
});

test('a disabled job stays listed and its changes are emitted', () => {
  const catalog = new Catalog();
  catalog.apply([{ file: 'a.yaml', result: good('a', 'a.yaml', 'h1') }]);
  const [change] = catalog.apply([{ file: 'a.yaml', result: good('a', 'a.yaml', 'h2', false) }]);
  assert.equal(change?.kind, 'changed');
  assert.equal(change?.definition?.enabled, false);
  assert.equal(catalog.definitions().length, 1);
});

test('load results from real files: an edit that breaks keeps the good one, a duplicate names both files', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-catalog-'));
  const file = (name: string, text: string) => {
    writeFileSync(path.join(dir, name), text);
    return path.join(dir, name);
  };
  const options = { env: {}, defaultTimezone: 'UTC' };
  const a = file('a.yaml', 'schedule: "every 5m"\ntask: { type: command, command: [echo, a] }\n');
  const b = file('b.yaml', 'id: a\nschedule: "every 5m"\ntask: { type: command, command: [echo, b] }\n');
  const catalog = new Catalog();
  const changes = catalog.apply([
    { file: a, result: loadJobFile(a, undefined, options) },
    { file: b, result: loadJobFile(b, undefined, options) },
  ]);
  assert.deepEqual(summary(changes), [`added a ${a}`]);
  assert.deepEqual(catalog.fileErrors().map(formatFileError), [
    `${b}:1:5: id: "a" is already the id of ${a}: set a different id in one of the two files`,
  ]);
  file('a.yaml', 'schedule: "every 5 parsecs"\ntask: { type: command, command: [echo, a] }\n');
  assert.deepEqual(catalog.apply([{ file: a, result: loadJobFile(a, undefined, options) }]), []);
  const task = catalog.get('a')?.task;
  assert.deepEqual(task?.type === 'command' && task.command, ['echo', 'a']);
  assert.deepEqual(
    catalog.fileErrors().map((e) => [e.file, e.code === ERROR_CODES.duplicateId]),
    [
      [a, false],
      [b, true],
    ],
  );
});

test('a chained job\'s error follows its file when a line moves, with no change of definition', () => {
  const catalog = new Catalog();
  const chained = (line: number): LoadResult => {
    const def = commandJob({ id: 'c', file: 'c.yaml', hash: 'same' });
    return { ok: true, definition: { ...def, schedule: { ...def.schedule, trigger: { kind: 'after', job: 'nope', on: ['succeeded'] } } }, idAt: { file: 'c.yaml', line: 1, column: 1 }, afterAt: { file: 'c.yaml', line, column: 20 } };
  };
  catalog.apply([{ file: 'c.yaml', result: chained(1) }]);
  assert.match(formatFileError([...catalog.chainErrors().values()][0]!), /^c\.yaml:1:20: /);
  assert.deepEqual(catalog.apply([{ file: 'c.yaml', result: chained(3), hash: 'other bytes' }]), [], 'the same definition: no change');
  assert.match(formatFileError([...catalog.chainErrors().values()][0]!), /^c\.yaml:3:20: /, 'two comment lines added above it');
});

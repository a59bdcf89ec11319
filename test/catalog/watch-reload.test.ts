// The watcher and the reloader on real temporary directories with real chokidar: editor saves,
// temp-file renames, deletes, duplicate ids, `_defaults`, a Kubernetes ConfigMap `..data` swap.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readlinkSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { watch } from 'chokidar';
import { pino } from 'pino';
import { Catalog, type CatalogChange } from '../../src/catalog/catalog.ts';
import { createReloader } from '../../src/catalog/reload.ts';
import { ERROR_CODES } from '../../src/definitions/errors.ts';
import { chokidarOptions, watchDirectory } from '../../src/files/watch.ts';
import { pollUntil } from '../helpers/poll.ts';

const job = (word: string, head = '') => `${head}schedule: "every 5m"\ntask: { type: command, command: [echo, ${word}] }\n`;

function tempDir(): string {
  return mkdtempSync(path.join(tmpdir(), 'jobsd-watch-'));
}

async function start(t: TestContext, options: { poll?: boolean; dir?: string; files?: Record<string, string> } = {}) {
  const dir = options.dir ?? tempDir();
  for (const [name, text] of Object.entries(options.files ?? {})) writeFileSync(path.join(dir, name), text);
  const catalog = new Catalog();
  const changes: CatalogChange[] = [];
  const logs: { level: number; msg: string; code?: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const reloader = createReloader({ dir, options: { env: {}, defaultTimezone: 'UTC' }, catalog, onChanges: (c) => void changes.push(...c), logger });
  reloader.loadAll();
  changes.length = 0; // tests look at what happens after the initial load
  const errors: unknown[] = [];
  const watcher = watchDirectory(dir, {
    ...(options.poll ? { poll: true, pollIntervalMs: 40 } : {}),
    onPaths: (paths) => reloader.reload(paths),
    onRescan: (reason) => reloader.loadAll({ trustStat: reason === 'periodic' }),
    onError: (error) => errors.push(error),
  });
  t.after(async () => {
    await watcher.close();
    rmSync(dir, { recursive: true, force: true });
    assert.deepEqual(errors, []);
  });
  await watcher.ready;
  const write = (name: string, text: string) => writeFileSync(path.join(dir, name), text);
  /** The command a job runs now, e.g. `echo one`. */
  const command = (id: string) => {
    const task = catalog.get(id)?.task;
    return task?.type === 'command' ? [task.command].flat().join(' ') : undefined;
  };
  const since = (n: number) => changes.slice(n).map((c) => `${c.kind} ${c.id}`);
  return { dir, catalog, reloader, changes, logs, write, command, since };
}

for (const poll of [false, true]) {
  test(`add, edit in place, edit by temp file and rename, delete${poll ? ' (polling)' : ''}`, async (t) => {
    const h = await start(t, { poll });
    h.write('a.yaml', job('one'));
    await pollUntil(() => h.command('a') === 'echo one', { what: 'a added' });
    h.write('a.yaml', job('two'));
    await pollUntil(() => h.command('a') === 'echo two', { what: 'a edited in place' });
    h.write('a.yaml.tmp', job('three')); // *.tmp is never a job file
    renameSync(path.join(h.dir, 'a.yaml.tmp'), path.join(h.dir, 'a.yaml'));
    await pollUntil(() => h.command('a') === 'echo three', { what: 'a replaced by a rename' });
    unlinkSync(path.join(h.dir, 'a.yaml'));
    await pollUntil(() => !h.catalog.get('a'), { what: 'a removed' });
    assert.deepEqual(h.since(0), ['added a', 'changed a', 'changed a', 'removed a']);
    assert.equal(h.reloader.stats.parsed, 3);
  });
}

test('a broken edit keeps the last good definition, exposes the error and logs it once', async (t) => {
  const h = await start(t, { files: { 'a.yaml': job('one') } });
  h.write('a.yaml', job('one', 'timeout: soon\n'));
  await pollUntil(() => h.catalog.fileErrors().length === 1, { what: 'the error' });
  assert.equal(h.command('a'), 'echo one');
  assert.deepEqual(h.catalog.files().map((f) => [path.basename(f.file), f.ok, f.runningHash !== undefined]), [['a.yaml', false, true]]);
  const warnings = () => h.logs.filter((l) => l.level === 40);
  assert.equal(warnings().length, 1);
  assert.match(warnings()[0]?.msg ?? '', /a\.yaml:1:10: timeout: /);
  const parsed = h.reloader.stats.parsed;
  h.reloader.loadAll(); // the safety-net rescan: no re-parse, no second warning
  assert.equal(h.reloader.stats.parsed, parsed);
  assert.equal(warnings().length, 1);
  h.write('a.yaml', job('two'));
  await pollUntil(() => h.command('a') === 'echo two', { what: 'the fix' });
  assert.deepEqual(h.catalog.fileErrors(), []);
  assert.deepEqual(h.since(0), ['changed a']);
});

test('unchanged bytes are not parsed again', async (t) => {
  const h = await start(t, { files: { 'a.yaml': job('one') } });
  const { parsed, checked } = h.reloader.stats;
  h.write('a.yaml', job('one'));
  await pollUntil(() => h.reloader.stats.checked > checked, { what: 'the change event' });
  assert.equal(h.reloader.stats.parsed, parsed);
  assert.deepEqual(h.changes, []);
});

test('the periodic rescan reads only files whose stat changed; an event rescan reads them all', async (t) => {
  const h = await start(t, { files: { 'a.yaml': job('one'), 'b.yaml': job('two') } });
  const { checked } = h.reloader.stats;
  h.reloader.loadAll({ trustStat: true });
  assert.equal(h.reloader.stats.checked, checked, 'nothing read: both files are as they were');
  // A change the watcher did not report (a lost event): new bytes, a new size and mtime.
  const b = path.join(h.dir, 'b.yaml');
  writeFileSync(b, job('three'));
  utimesSync(b, new Date(), new Date(Date.now() + 5_000));
  h.reloader.loadAll({ trustStat: true });
  assert.equal(h.reloader.stats.checked, checked + 1);
  assert.equal(h.command('b'), 'echo three');
  h.reloader.loadAll();
  assert.equal(h.reloader.stats.checked, checked + 3);
});

test('the periodic recheck: files whose stat changed are read, files gone are removed, a new _defaults rechecks all', async (t) => {
  const h = await start(t, { files: { 'a.yaml': job('one'), 'b.yaml': job('two'), 'c.yaml': job('four') } });
  const { checked } = h.reloader.stats;
  assert.deepEqual(await h.reloader.recheck(), []);
  assert.equal(h.reloader.stats.checked, checked, 'nothing read: the files are as they were');
  // Changes the watcher did not report (lost events): new bytes, a deleted file.
  const b = path.join(h.dir, 'b.yaml');
  writeFileSync(b, job('three'));
  utimesSync(b, new Date(), new Date(Date.now() + 5_000));
  rmSync(path.join(h.dir, 'c.yaml'));
  const changes = await h.reloader.recheck();
  assert.deepEqual(changes.map((c) => `${c.kind} ${c.id}`).sort(), ['changed b', 'removed c']);
  assert.equal(h.command('b'), 'echo three');
  writeFileSync(path.join(h.dir, '_defaults.yaml'), 'timeout: 5m\n');
  await h.reloader.recheck();
  assert.equal(h.catalog.get('a')?.timeoutMs, 300_000, 'the new _defaults applies to every job');
});

test('the periodic recheck of many files gives the event loop back while it stats them', async (t) => {
  const files = Object.fromEntries(Array.from({ length: 5_000 }, (_, i) => [`job-${i}.yaml`, job(`n${i}`)]));
  const h = await start(t, { files });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 0);
  t.after(() => clearInterval(timer));
  const seen = await h.reloader.recheck().then(() => ticks);
  assert.ok(seen > 0, 'a timer ran before the recheck ended');
});

test('a rename that keeps the id is one change', async (t) => {
  const h = await start(t, { files: { 'old.yaml': job('one', 'id: keep\n') } });
  renameSync(path.join(h.dir, 'old.yaml'), path.join(h.dir, 'new.yaml'));
  await pollUntil(() => h.catalog.get('keep')?.file.endsWith('new.yaml'), { what: 'the rename' });
  await pollUntil(() => h.catalog.files().length === 1, { what: 'old.yaml gone' });
  assert.deepEqual(h.since(0), ['changed keep']);
});

test('duplicate id: the file loaded first keeps it; when it is deleted the other takes over', async (t) => {
  const h = await start(t, { files: { 'a.yaml': job('a', 'id: x\n'), 'b.yaml': job('b', 'id: x\n') } });
  assert.equal(h.command('x'), 'echo a');
  const [error] = h.catalog.fileErrors();
  assert.equal(error?.code, ERROR_CODES.duplicateId);
  assert.ok(error?.file.endsWith('b.yaml') && error.message.includes(path.join(h.dir, 'a.yaml')));
  unlinkSync(path.join(h.dir, 'a.yaml'));
  await pollUntil(() => h.command('x') === 'echo b', { what: 'b.yaml taking over' });
  assert.deepEqual(h.since(0), ['changed x']);
  assert.deepEqual(h.catalog.fileErrors(), []);
});

test('a _defaults change re-applies to every job; a broken _defaults keeps the jobs as they were', async (t) => {
  const h = await start(t, { files: { '_defaults.yaml': 'timeout: 5m\n', 'a.yaml': job('a'), 'b.yaml': job('b') } });
  assert.deepEqual(h.catalog.definitions().map((d) => d.timeoutMs), [300_000, 300_000]);
  assert.equal(h.reloader.stats.parsed, 2);
  h.write('_defaults.yaml', 'timeout: 10m\n');
  await pollUntil(() => h.catalog.definitions().every((d) => d.timeoutMs === 600_000), { what: 'the new defaults' });
  assert.deepEqual(h.since(0).sort(), ['changed a', 'changed b']);
  assert.equal(h.reloader.stats.parsed, 4);

  h.write('_defaults.yaml', 'timeout: [\n');
  await pollUntil(() => h.catalog.fileErrors().some((e) => e.file.endsWith('_defaults.yaml')), { what: 'the defaults error' });
  assert.equal(h.catalog.fileErrors().length, 1, 'the defaults error is listed once');
  assert.deepEqual(h.catalog.definitions().map((d) => d.timeoutMs), [600_000, 600_000]);
  assert.equal(h.reloader.stats.parsed, 4, 'jobs are not parsed against broken defaults');
  h.write('_defaults.yaml', 'timeout: 10m\n');
  await pollUntil(() => h.catalog.fileErrors().length === 0, { what: 'the defaults fixed' });
  assert.deepEqual(h.since(0).sort(), ['changed a', 'changed b'], 'back to the same definitions: no change');
});

/** A ConfigMap volume as the kubelet writes it: `..TS/` holds the data, `..data` → `..TS`, `name` → `..data/name`. */
function configMap(dir: string, files: Record<string, string>): void {
  for (const name of Object.keys(files)) symlinkSync(path.join('..data', name), path.join(dir, name));
  swap(dir, files, '..2026_11_23_13_00_00.000000001');
}

let generation = 1;
function swap(dir: string, files: Record<string, string>, stamp = `..2026_11_23_13_00_00.00000000${++generation}`): void {
  mkdirSync(path.join(dir, stamp));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, stamp, name), text);
  symlinkSync(stamp, path.join(dir, '..data_tmp'));
  let old: string | undefined;
  try {
    old = path.join(dir, readlinkSync(path.join(dir, '..data')));
  } catch {
    old = undefined;
  }
  renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data')); // atomic replace
  if (old) rmSync(old, { recursive: true });
}

test('chokidar 6 reports a ConfigMap ..data swap as ..data dir events and a change of every linked file', async (t) => {
  const dir = tempDir();
  configMap(dir, { 'a.yaml': 'a1', 'b.yaml': 'b1', 'c.yaml': 'c1' });
  const events: string[] = [];
  const watcher = watch(dir, chokidarOptions(dir, {}));
  t.after(async () => {
    await watcher.close();
    rmSync(dir, { recursive: true, force: true });
  });
  watcher.on('all', (event, file) => events.push(`${event} ${path.relative(dir, file)}`));
  await new Promise<void>((resolve) => watcher.once('ready', () => resolve()));
  swap(dir, { 'a.yaml': 'a2', 'b.yaml': 'b1' }); // c removed: its link dangles until deleted
  unlinkSync(path.join(dir, 'c.yaml'));
  const expected = ['addDir ..data', 'change a.yaml', 'change b.yaml', 'unlink c.yaml', 'unlinkDir ..data'];
  await pollUntil(() => expected.every((e) => events.includes(e)), { what: `${expected.join(', ')} (seen: ${events.join(', ')})` });
  assert.deepEqual([...new Set(events)].sort(), expected, 'nothing from ..2026_* or ..data_tmp, nothing inside ..data');
});

for (const poll of [false, true]) {
  test(`a ConfigMap ..data swap reloads the changed jobs and removes a dropped key${poll ? ' (polling)' : ''}`, async (t) => {
    const dir = tempDir();
    configMap(dir, { 'a.yaml': job('a1'), 'b.yaml': job('b1'), 'c.yaml': job('c1') });
    const h = await start(t, { dir, poll });
    assert.deepEqual(h.catalog.definitions().map((d) => d.id), ['a', 'b', 'c']);
    assert.ok(h.catalog.get('a')?.file === path.join(dir, 'a.yaml'), 'jobs are named by their link, not by ..data/');
    const parsed = h.reloader.stats.parsed;
    swap(dir, { 'a.yaml': job('a2'), 'b.yaml': job('b1') });
    unlinkSync(path.join(dir, 'c.yaml'));
    await pollUntil(() => h.command('a') === 'echo a2' && !h.catalog.get('c'), { what: 'the swap' });
    assert.deepEqual(h.since(0).sort(), ['changed a', 'removed c']);
    assert.equal(h.reloader.stats.parsed, parsed + 1, 'only a.yaml is parsed again');
  });
}

test('the watcher batches the paths of one window, asks for rescans, and reports callback errors', async (t) => {
  const dir = tempDir();
  const calls: string[][] = [];
  const errors: unknown[] = [];
  let rescans = 0;
  const watcher = watchDirectory(dir, {
    debounceMs: 150,
    rescanMs: 60_000,
    onPaths: (paths) => {
      calls.push(paths.map((p) => path.basename(p)).sort());
      throw new Error('boom');
    },
    onRescan: () => void rescans++,
    onError: (error) => errors.push(error),
  });
  t.after(async () => {
    await watcher.close();
    rmSync(dir, { recursive: true, force: true });
  });
  await watcher.ready;
  for (const name of ['x.yaml', 'y.yaml', 'x.yaml']) writeFileSync(path.join(dir, name), job(name));
  await pollUntil(() => calls.length > 0, { what: 'onPaths' });
  assert.deepEqual(calls, [['x.yaml', 'y.yaml']]);
  assert.match(String(errors[0]), /boom/);
  // Entries that are not job files are ignored: no paths, no rescan (a temp file of a write-then-rename
  // would otherwise cost chokidar a read of the whole directory).
  mkdirSync(path.join(dir, 'sub'));
  writeFileSync(path.join(dir, 'notes.txt'), 'x');
  writeFileSync(path.join(dir, '.z.yaml.tmp'), job('z'));
  renameSync(path.join(dir, '.z.yaml.tmp'), path.join(dir, 'z.yaml'));
  await pollUntil(() => calls.length > 1, { what: 'onPaths for z.yaml' });
  assert.deepEqual(calls[1], ['z.yaml']);
  assert.equal(rescans, 0);
  mkdirSync(path.join(dir, '..data'));
  await pollUntil(() => rescans > 0, { what: 'a rescan for a ConfigMap ..data event' });
  const periodic = watchDirectory(dir, { rescanMs: 30, onPaths: () => {}, onRescan: () => void rescans++, onError: (e) => errors.push(e) });
  t.after(() => periodic.close());
  const before = rescans;
  await pollUntil(() => rescans >= before + 2, { what: 'periodic rescans' });
});

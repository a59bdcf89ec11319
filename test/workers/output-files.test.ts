// The files a command leaves in JOBSD_OUTPUT_DIR (src/workers/output-files.ts): a private, empty
// directory per attempt, read into the result (listed; contents in memory, capped, secrets scrubbed),
// and removed whatever the end of the run: exit, timeout, cancellation, a process spawned ahead discarded.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { spawnAhead } from '../../src/workers/command-ahead.ts';
import { runCommand } from '../../src/workers/command.ts';
import { collectOutput, contentTypeOf, filesOf, scrubBytes, sweepOutputDirs } from '../../src/workers/output-files.ts';
import { runTask } from '../../src/workers/run-task.ts';
import { commandJob, runContext } from '../helpers/definitions.ts';

/** A command job whose email attaches every file its runs leave (only those are read). */
function attaching(task: Parameters<typeof commandJob>[0] = {}): ReturnType<typeof commandJob> {
  const def = commandJob(task);
  def.notify = { on: ['success'], email: { to: ['ops@example.com'], attach: true } };
  return def;
}

/** The directory the command printed on its first line. */
function printedDir(output: unknown): string {
  const dir = String(output).split('\n')[0]!;
  assert.ok(dir.startsWith('/'), `no directory in ${JSON.stringify(output)}`);
  return dir;
}

describe('JOBSD_OUTPUT_DIR', () => {
  // The directories are made under TMPDIR: a base of this test's own, to see that nothing is left in it.
  let base: string;
  const previous = process.env.TMPDIR;
  before(() => {
    base = mkdtempSync(path.join(tmpdir(), 'jobsd-output-base-'));
    process.env.TMPDIR = base;
  });
  after(() => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
  });

  it('is an empty private directory; the files left there are listed, kept in memory, and the directory removed', async () => {
    const script = [
      'echo "$JOBSD_OUTPUT_DIR"',
      'stat -c %a "$JOBSD_OUTPUT_DIR"',
      'ls -A "$JOBSD_OUTPUT_DIR" | wc -l',
      'printf "a,b\\n1,2\\n" > "$JOBSD_OUTPUT_DIR/report.csv"',
      'printf \'{"x":1}\' > "$JOBSD_OUTPUT_DIR/data.json"',
      'printf "hello" > "$JOBSD_OUTPUT_DIR/notes.txt"',
      'printf "\\000\\001\\377" > "$JOBSD_OUTPUT_DIR/blob.bin"',
    ].join('; ');
    const result = await runCommand(attaching({ task: { command: ['sh', '-c', script] } }), runContext());
    assert.equal(result.status, 'succeeded', String(result.details.output_tail));
    const [dir, mode, entries] = String(result.details.output_tail).trim().split('\n');
    assert.equal(path.dirname(dir!), base, 'under TMPDIR');
    assert.equal(mode, '700');
    assert.equal(entries!.trim(), '0', 'empty at the start');
    assert.deepEqual(result.details.output_files, [
      { name: 'blob.bin', size: 3, content_type: 'application/octet-stream', kept: true },
      { name: 'data.json', size: 7, content_type: 'application/json', kept: true },
      { name: 'notes.txt', size: 5, content_type: 'text/plain', kept: true },
      { name: 'report.csv', size: 8, content_type: 'text/csv', kept: true },
    ]);
    const files = filesOf(result);
    assert.deepEqual(files.map((f) => [f.name, f.contentType]), [['blob.bin', 'application/octet-stream'], ['data.json', 'application/json'], ['notes.txt', 'text/plain'], ['report.csv', 'text/csv']]);
    assert.deepEqual(files[0]!.content, Buffer.from([0, 1, 255]));
    assert.equal(files[3]!.content.toString(), 'a,b\n1,2\n');
    assert.equal(JSON.stringify(result).includes('a,b'), false, 'contents are not in the result JSON (the ledger)');
    assert.equal(existsSync(dir!), false, 'removed');
    assert.deepEqual(readdirSync(base), []);
  });

  it('reads only the files the email attaches; the others are listed', async () => {
    const script = 'echo a > "$JOBSD_OUTPUT_DIR/a.csv"; echo b > "$JOBSD_OUTPUT_DIR/b.csv"';
    const none = await runCommand(commandJob({ task: { command: ['sh', '-c', script] } }), runContext());
    assert.deepEqual(none.details.output_files, [
      { name: 'a.csv', size: 2, content_type: 'text/csv', kept: false, reason: 'not attached (notify.email.attach)' },
      { name: 'b.csv', size: 2, content_type: 'text/csv', kept: false, reason: 'not attached (notify.email.attach)' },
    ]);
    assert.deepEqual(filesOf(none), []);
    const def = commandJob({ task: { command: ['sh', '-c', script] } });
    def.notify = { on: ['failure'], email: { to: ['ops@example.com'], attach: ['b.csv'] } };
    const listed = await runCommand(def, runContext());
    assert.deepEqual((listed.details.output_files as Array<{ kept: boolean }>).map((f) => f.kept), [false, true]);
    assert.deepEqual(filesOf(listed).map((f) => f.content.toString()), ['b\n']);
    assert.deepEqual(readdirSync(base), []);
  });

  it('a run with no files lists none', async () => {
    const result = await runCommand(attaching({ task: { command: ['true'] } }), runContext());
    assert.equal(result.details.output_files, undefined);
    assert.deepEqual(filesOf(result), []);
    assert.deepEqual(readdirSync(base), []);
  });

  it('caps what is kept: a file over 1 MiB is listed, not kept', async () => {
    const script = 'head -c 1048577 /dev/zero > "$JOBSD_OUTPUT_DIR/big.csv"; echo ok > "$JOBSD_OUTPUT_DIR/small.txt"';
    const result = await runCommand(attaching({ task: { command: ['sh', '-c', script] } }), runContext());
    assert.deepEqual(result.details.output_files, [
      { name: 'big.csv', size: 1048577, content_type: 'text/csv', kept: false, reason: 'larger than 1048576 bytes' },
      { name: 'small.txt', size: 3, content_type: 'text/plain', kept: true },
    ]);
    assert.deepEqual(filesOf(result).map((f) => f.name), ['small.txt']);
  });

  it('scrubs secrets from the files kept, through runTask (whose result is redacted)', async () => {
    const def = { ...attaching({ task: { command: ['sh', '-c', 'echo "token=s3cr3t-value-42" > "$JOBSD_OUTPUT_DIR/out.txt"'] } }), secrets: ['s3cr3t-value-42'] };
    const result = await runTask(def, runContext());
    assert.equal(result.status, 'succeeded');
    assert.equal(filesOf(result)[0]!.content.toString(), 'token=[redacted]\n');
  });

  it('a run that times out leaves no directory; what it wrote is still listed', async () => {
    const script = 'echo "$JOBSD_OUTPUT_DIR"; echo partial > "$JOBSD_OUTPUT_DIR/part.csv"; exec sleep 30';
    const result = await runCommand(attaching({ timeoutMs: 300, task: { command: ['sh', '-c', script], killGraceMs: 200 } }), runContext());
    assert.equal(result.status, 'timed_out');
    assert.equal(existsSync(printedDir(result.details.output_tail)), false);
    assert.deepEqual(readdirSync(base), []);
    assert.deepEqual((result.details.output_files as Array<{ name: string }>).map((f) => f.name), ['part.csv']);
  });

  it('a cancelled run leaves no directory', async () => {
    const controller = new AbortController();
    const script = 'echo "$JOBSD_OUTPUT_DIR"; touch "$JOBSD_OUTPUT_DIR/started"; exec sleep 30';
    const running = runCommand(attaching({ task: { command: ['sh', '-c', script], killGraceMs: 200 } }), runContext({ signal: controller.signal }));
    while (readdirSync(base).every((d) => !existsSync(path.join(base, d, 'started')))) await new Promise((r) => setImmediate(r));
    controller.abort();
    const result = await running;
    assert.equal(result.status, 'cancelled');
    assert.equal(existsSync(printedDir(result.details.output_tail)), false);
    assert.deepEqual(readdirSync(base), []);
  });

  it('a command that cannot start leaves no directory', async () => {
    const result = await runCommand(attaching({ task: { command: ['/nonexistent/program'] } }), runContext());
    assert.equal(result.status, 'failed');
    assert.deepEqual(readdirSync(base), []);
  });

  it('a command spawned ahead gets its directory; discarded, the directory goes too', { skip: process.platform !== 'linux' && 'spawn ahead is Linux-only here' }, async () => {
    const def = attaching({ task: { command: ['sh', '-c', 'echo "$JOBSD_OUTPUT_DIR"; echo x > "$JOBSD_OUTPUT_DIR/ahead.csv"'] } });
    const held = await spawnAhead(def, runContext());
    assert.ok(held);
    assert.equal(readdirSync(base).length, 1, 'made before the spawn');
    const result = await runCommand(def, runContext(), held);
    assert.equal(result.status, 'succeeded');
    assert.equal(printedDir(result.details.output_tail), held.outputDir);
    assert.equal(filesOf(result)[0]?.name, 'ahead.csv');
    assert.deepEqual(readdirSync(base), []);

    const discarded = (await spawnAhead(def, runContext()))!;
    assert.equal(existsSync(discarded.outputDir), true);
    await discarded.discard();
    assert.deepEqual(readdirSync(base), []);
  });
});

describe('collectOutput', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-collect-'));
  writeFileSync(path.join(dir, 'a.csv'), 'x'.repeat(40));
  writeFileSync(path.join(dir, 'b.json'), 'y'.repeat(40));
  writeFileSync(path.join(dir, 'c.txt'), 'z'.repeat(10));
  mkdirSync(path.join(dir, 'sub'));
  symlinkSync('/etc/passwd', path.join(dir, 'link.txt'));

  it('keeps regular files up to the total, lists the others with why', async () => {
    const out = await collectOutput(dir, new Set(), { fileBytes: 50, totalBytes: 60, files: 10 });
    assert.deepEqual(out.listing, [
      { name: 'a.csv', size: 40, content_type: 'text/csv', kept: true },
      { name: 'b.json', size: 40, content_type: 'application/json', kept: false, reason: 'over the 60 bytes kept per run' },
      { name: 'c.txt', size: 10, content_type: 'text/plain', kept: true },
      { name: 'link.txt', size: 0, content_type: 'text/plain', kept: false, reason: 'a symbolic link (not followed)' },
      { name: 'sub', size: 0, content_type: 'application/octet-stream', kept: false, reason: 'not a regular file' },
    ]);
    assert.deepEqual(out.files.map((f) => f.name), ['a.csv', 'c.txt']);
    assert.equal(out.skipped, 0);
  });

  it('looks at no more than `files` entries', async () => {
    const out = await collectOutput(dir, new Set(), { fileBytes: 50, totalBytes: 1000, files: 2 });
    assert.deepEqual(out.listing.map((l) => l.name), ['a.csv', 'b.json']);
    assert.equal(out.skipped, 3);
  });
});

describe('sweepOutputDirs', () => {
  it('removes the directories of processes that are gone, and only those', async () => {
    const base = mkdtempSync(path.join(tmpdir(), 'jobsd-sweep-'));
    const gone = spawnSync('sh', ['-c', 'echo $$'], { encoding: 'utf8' }).stdout.trim(); // a pid whose process has exited
    mkdirSync(path.join(base, `jobsd-output-${gone}-AbC123`));
    writeFileSync(path.join(base, `jobsd-output-${gone}-AbC123`, 'report.csv'), 'x');
    mkdirSync(path.join(base, `jobsd-output-${process.pid}-mine01`)); // this process's own: in use
    mkdirSync(path.join(base, `jobsd-output-1-init01`)); // a living process (pid 1)
    mkdirSync(path.join(base, 'jobsd-output-notapid'));
    writeFileSync(path.join(base, `jobsd-output-${gone}-file01`), 'a file, not a directory');
    mkdirSync(path.join(base, 'unrelated'));
    assert.deepEqual(await sweepOutputDirs(base), [`jobsd-output-${gone}-AbC123`]);
    assert.deepEqual(readdirSync(base).sort(), [`jobsd-output-${gone}-file01`, `jobsd-output-${process.pid}-mine01`, 'jobsd-output-1-init01', 'jobsd-output-notapid', 'unrelated'].sort());
  });
});

describe('contentTypeOf and scrubBytes', () => {
  it('gives content types by extension', () => {
    assert.equal(contentTypeOf('report.csv'), 'text/csv');
    assert.equal(contentTypeOf('REPORT.CSV'), 'text/csv');
    assert.equal(contentTypeOf('x.json'), 'application/json');
    assert.equal(contentTypeOf('x.txt'), 'text/plain');
    assert.equal(contentTypeOf('x.parquet'), 'application/octet-stream');
    assert.equal(contentTypeOf('.csv'), 'application/octet-stream');
    assert.equal(contentTypeOf('noext'), 'application/octet-stream');
  });

  it('replaces secrets byte for byte, leaving other bytes (binary, UTF-8) as they are', () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0x00]), Buffer.from('pässwörd-1 ünïcode', 'utf8'), Buffer.from([0x80])]);
    const out = scrubBytes(bytes, new Set(['pässwörd-1']));
    assert.deepEqual(out, Buffer.concat([Buffer.from([0xff, 0x00]), Buffer.from('[redacted] ünïcode', 'utf8'), Buffer.from([0x80])]));
    assert.equal(scrubBytes(bytes, new Set(['absent'])), bytes);
  });
});

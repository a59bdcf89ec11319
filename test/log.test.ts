import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { once } from 'node:events';
import { finished } from 'node:stream/promises';
import { describe, it } from 'node:test';

const logModule = JSON.stringify(new URL('../src/log.ts', import.meta.url).pathname);

/** Runs `body` (with `createLogger` in scope) in a child process; returns its stdout and stderr. */
function run(body: string): { stdout: string; stderr: string } {
  const script = `import { createLogger } from ${logModule};\n${body}`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  assert.equal(child.status, 0, child.stderr);
  return { stdout: child.stdout, stderr: child.stderr };
}

describe('createLogger', () => {
  it('writes JSON lines to stdout with secrets redacted', () => {
    const { stdout } = run(`createLogger({}).info({ job: 'j', source: { token: 't0k' },
      headers: { authorization: 'Bearer x' }, password: 'pw' }, 'hi');`);
    const line = JSON.parse(stdout) as Record<string, unknown>;
    assert.equal(line.msg, 'hi');
    assert.equal(line.job, 'j');
    assert.deepEqual(line.source, { token: '[redacted]' });
    assert.deepEqual(line.headers, { authorization: '[redacted]' });
    assert.equal(line.password, '[redacted]');
    assert.doesNotMatch(stdout, /t0k|Bearer|"pw"/);
  });

  it('writes human-readable lines with pretty (pino-pretty, loaded only then), secrets redacted', () => {
    const { stdout } = run(`createLogger({ pretty: true }).info({ job: 'j', token: 't0k' }, 'hello there');`);
    assert.match(stdout, /INFO.*: j: hello there\n/, 'the first line names the job');
    assert.match(stdout, /job: "j"/);
    assert.doesNotMatch(stdout, /t0k/);
    assert.throws(() => JSON.parse(stdout));
  });

  it('redacts secret-looking keys at any depth, and leaves the other fields alone', () => {
    const { stdout } = run(`createLogger({}).info({ job: 'j', request: { options: { headers: { 'X-Api-Key': 'k3y', cookie: 'c00kie', accept: 'json' } } },
      retry: { attempts: 2 } }, 'deep');`);
    const line = JSON.parse(stdout) as { request: { options: { headers: Record<string, string> } }; retry: unknown };
    assert.deepEqual(line.request.options.headers, { 'X-Api-Key': '[redacted]', cookie: '[redacted]', accept: 'json' });
    assert.deepEqual(line.retry, { attempts: 2 });
    assert.doesNotMatch(stdout, /k3y|c00kie/);
  });

  it('keeps registered secret values out of fields and messages, in child loggers too', () => {
    const script = `import { createLogger, registerSecrets } from ${logModule};
      registerSecrets(['from-a-secret-file', 'abc']);
      const child = createLogger({}).child({ job: 'j', run: 'r', attempt: 1 });
      child.info({ details: { output_tail: 'connecting with from-a-secret-file' }, list: ['x from-a-secret-file'] }, 'used from-a-secret-file');
      child.error({ err: new Error('boom with from-a-secret-file') }, 'failed');
      createLogger({}).child({ url: 'x from-a-secret-file' }).info('bound');`;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    assert.equal(child.status, 0, child.stderr);
    const [first, second, third] = child.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>);
    assert.equal(first!.msg, 'used [redacted]');
    assert.equal(first!.details.output_tail, 'connecting with [redacted]');
    assert.deepEqual(first!.list, ['x [redacted]']);
    assert.equal(first!.attempt, 1);
    assert.doesNotMatch(child.stdout, /from-a-secret-file/);
    assert.equal(second!.err.message, 'boom with [redacted]', 'errors are still serialised, scrubbed');
    assert.doesNotMatch(second!.err.stack, /from-a-secret-file/);
    assert.equal(third!.url, 'x [redacted]', 'child bindings are scrubbed');
  });

  it('writes the lines of one turn together, in order, and loses none when the process exits or crashes', () => {
    // One write per turn of the event loop (src/log-writer.ts): the lines logged just before
    // process.exit, or before an uncaught exception ends the process, are written on the way out.
    const exiting = spawnSync(process.execPath, ['--input-type=module', '-e', `import { createLogger } from ${logModule};
      const logger = createLogger({ coalesce: true });
      for (let i = 0; i < 3; i++) logger.info({ i }, 'before exit');
      process.exit(3);`], { encoding: 'utf8' });
    assert.equal(exiting.status, 3, exiting.stderr);
    assert.deepEqual(exiting.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { i: number }).i), [0, 1, 2]);

    const crashing = spawnSync(process.execPath, ['--input-type=module', '-e', `import { createLogger } from ${logModule};
      const logger = createLogger({ coalesce: true });
      setTimeout(() => { logger.info('last words'); throw new Error('boom'); }, 1);`], { encoding: 'utf8' });
    assert.notEqual(crashing.status, 0);
    assert.match(crashing.stderr, /boom/);
    assert.equal((JSON.parse(crashing.stdout) as { msg: string }).msg, 'last words');

    const { stdout } = run(`const logger = createLogger({ coalesce: true });
      logger.info('one'); logger.info('two');
      // 'four' is set from the turn that logs 'three': a timer set beside the setImmediate may come first
      // on a loaded machine (the timers phase runs before the check phase once 5 ms have passed).
      setImmediate(() => { logger.info('three'); setTimeout(() => logger.info('four'), 5); });`);
    assert.deepEqual(stdout.trim().split('\n').map((l) => (JSON.parse(l) as { msg: string }).msg), ['one', 'two', 'three', 'four']);
  });

  it('keeps running when the log cannot be written (a full disk), and says so once on stderr', () => {
    const full = openSync('/dev/full', 'w');
    try {
      const child = spawnSync(process.execPath, ['--input-type=module', '-e', `import { createLogger } from ${logModule};
        const logger = createLogger({ coalesce: true });
        let n = 0;
        const tick = setInterval(() => { logger.info({ n }, 'line'); if (++n === 5) { clearInterval(tick); process.stderr.write('still running'); } }, 1);`], { stdio: ['ignore', full, 'pipe'], encoding: 'utf8' });
      assert.equal(child.status, 0, child.stderr);
      assert.equal(child.stderr.match(/writing log lines failed \(ENOSPC\)/g)?.length, 1, child.stderr);
      assert.match(child.stderr, /still running$/);
    } finally {
      closeSync(full);
    }
  });

  it('writes each line at once for the one-shot commands, in its place among what they print', () => {
    const { stdout } = run(`const logger = createLogger({});
      logger.info('first'); process.stdout.write('printed\\n'); logger.info('last');`);
    assert.deepEqual(stdout.trim().split('\n').map((l) => (l.startsWith('{') ? (JSON.parse(l) as { msg: string }).msg : l)), ['first', 'printed', 'last']);
  });

  it('writes to stderr when asked, leaving stdout to a JSON document', () => {
    const { stdout, stderr } = run(`createLogger({ destination: 'stderr', level: 'debug' }).debug('to stderr');
      process.stdout.write('{"doc":1}');`);
    assert.equal(stdout, '{"doc":1}');
    assert.equal((JSON.parse(stderr) as { msg: string }).msg, 'to stderr');
  });

  it('waits for a lagging reader of a non-blocking pipe as long as it lags, not 100 ms at a time', async () => {
    // As under `npm start` (npm is Node too) or once any code creates process.stdout: the pipe on fd 1
    // is non-blocking, so a write meets EAGAIN whenever the reader is behind. pino's own writer slept
    // 100 ms on each, holding the event loop (and every run due meanwhile).
    const script = `import { createLogger } from ${logModule};
      import { readFileSync } from 'node:fs';
      process.stdout;
      const flags = parseInt(readFileSync('/proc/self/fdinfo/1', 'utf8').split('\\n')[1].split(/\\s+/)[1], 8);
      const logger = createLogger({});
      const slow = [];
      for (let i = 0; i < 10000; i++) {
        const t = performance.now();
        logger.info({ i, pad: 'x'.repeat(250) }, 'line');
        const ms = performance.now() - t;
        if (ms >= 100) slow.push(Math.round(ms));
      }
      process.stderr.write(JSON.stringify({ nonBlocking: (flags & 0o4000) !== 0, slow }));`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lines = 0;
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      for (const byte of chunk) if (byte === 10) lines++;
    });
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number];
    assert.equal(code, 0, stderr);
    const report = JSON.parse(stderr) as { nonBlocking: boolean; slow: number[] };
    assert.equal(report.nonBlocking, true, 'the child\'s stdout is a non-blocking pipe, as under npm start');
    assert.equal(lines, 10_000, 'no line lost');
    // A reader as busy as a test run can stall now and then; with the 100 ms sleeps, dozens of writes took that long.
    assert.ok(report.slow.length < 5, `writes that took 100 ms or more: ${report.slow.join(', ')}`);
  });

  it('exits within a moment when the log has a reader that does not read, writing what it can, in order', { timeout: 20_000 }, async () => {
    // The agent's writer keeps what the reader has not taken; at exit it waits a bounded moment for it.
    const script = `import { createLogger } from ${logModule};
      const logger = createLogger({ coalesce: true });
      for (let i = 0; i < 20000; i++) logger.info({ i, pad: 'x'.repeat(200) }, 'line');
      setImmediate(() => { process.stderr.write('exiting\\n'); process.exit(0); });`;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    // A reader that takes nothing: its 'data' listener is paused at once (Node resumes it once the child exits).
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString())).pause();
    const ended = finished(child.stdout);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exiting = new Promise<number>((resolve) => child.stderr.on('data', () => stderr.includes('exiting') && resolve(Date.now())));
    const [code] = (await once(child, 'exit')) as [number];
    const waitedMs = Date.now() - (await exiting);
    assert.equal(code, 0, stderr);
    assert.ok(waitedMs < 3_000, `the exit waited ${waitedMs} ms for the reader`);
    const notWritten = Number(/jobsd: (\d+) log lines not written: the log's reader did not read them within/.exec(stderr)?.[1]);
    assert.ok(notWritten > 0, stderr);
    child.stdout.resume();
    await ended;
    // A line the reader got part of (a write of part of what waited) is not written: it has no end.
    const written = out.split('\n').slice(0, -1).map((l) => (JSON.parse(l) as { i: number }).i);
    assert.deepEqual(written, written.map((_, k) => k), 'what was written is the first lines, in order');
    assert.ok(written.length + notWritten < 20_000, 'past the bound, lines were dropped before the exit');
  });
});

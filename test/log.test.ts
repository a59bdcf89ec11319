import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
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

  it('writes to stderr when asked, leaving stdout to a JSON document', () => {
    const { stdout, stderr } = run(`createLogger({ destination: 'stderr', level: 'debug' }).debug('to stderr');
      process.stdout.write('{"doc":1}');`);
    assert.equal(stdout, '{"doc":1}');
    assert.equal((JSON.parse(stderr) as { msg: string }).msg, 'to stderr');
  });
});

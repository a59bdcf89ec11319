import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { closeHttpAgent, runHttp } from '../../src/workers/http.ts';
import { httpJob, runContext } from '../helpers/definitions.ts';
import { pollUntil } from '../helpers/poll.ts';

let server: Server;
let base: string;
const hung: string[] = [];

async function readBody(req: IncomingMessage): Promise<string> {
  let body = '';
  for await (const chunk of req) body += String(chunk);
  return body;
}

async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://x');
  res.on('error', () => {}); // the client may hang up on /big
  if (url.pathname === '/status') {
    res.writeHead(Number(url.searchParams.get('code'))).end('status body');
  } else if (url.pathname === '/echo') {
    const body = await readBody(req);
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ method: req.method, type: req.headers['content-type'] ?? null, token: req.headers['x-token'] ?? null, body }));
  } else if (url.pathname === '/hang') {
    hung.push(url.search); // never answers
  } else if (url.pathname === '/big') {
    res.writeHead(200, { 'content-type': 'text/plain' });
    const chunk = 'é'.repeat(1000); // 2000 bytes
    for (let i = 0; i < 100; i++) res.write(chunk);
    res.end();
  } else {
    res.end('hello');
  }
}

before(async () => {
  server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

after(async () => {
  await closeHttpAgent();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

describe('runHttp', () => {
  it('succeeds on 2xx and keeps status, duration and body', async () => {
    const result = await runHttp(httpJob({ task: { url: `${base}/` } }), runContext());
    assert.equal(result.status, 'succeeded');
    assert.equal(result.message, 'HTTP 200 OK');
    assert.equal(result.details.status, 200);
    assert.equal(result.details.body, 'hello');
    assert.equal(typeof result.details.duration_ms, 'number');
  });

  it('matches expect_status codes and classes', async () => {
    const cases: Array<[number, Array<{ code: number } | { class: number }>, string]> = [
      [204, [{ class: 2 }], 'succeeded'],
      [302, [{ class: 2 }], 'failed'],
      [302, [{ code: 302 }], 'succeeded'],
      [404, [{ class: 2 }, { code: 404 }], 'succeeded'],
      [409, [{ class: 2 }, { code: 404 }], 'failed'],
      [503, [{ class: 5 }], 'succeeded'],
    ];
    for (const [code, expectStatus, status] of cases) {
      const result = await runHttp(httpJob({ task: { url: `${base}/status?code=${code}`, expectStatus } }), runContext());
      assert.equal(result.status, status, `${code} against ${JSON.stringify(expectStatus)}`);
      assert.equal(result.details.status, code);
    }
  });

  it('fails on 500 with the expected statuses in the message', async () => {
    const result = await runHttp(httpJob({ task: { url: `${base}/status?code=500` } }), runContext());
    assert.equal(result.status, 'failed');
    assert.equal(result.error, 'HTTP 500 Internal Server Error, expected 2xx');
    assert.equal(result.details.body, 'status body');
  });

  it('sends an object body as JSON with a content type, and a string as is', async () => {
    const task = { method: 'post', url: `${base}/echo`, headers: { 'x-token': 's3cret' }, body: { a: 1 } };
    const json = await runHttp(httpJob({ task }), runContext());
    assert.deepEqual(JSON.parse(String(json.details.body)), {
      method: 'POST', type: 'application/json', token: 's3cret', body: '{"a":1}',
    });

    const text = await runHttp(httpJob({ task: { ...task, headers: { 'content-type': 'text/csv' }, body: 'a,b' } }), runContext());
    assert.deepEqual(JSON.parse(String(text.details.body)), { method: 'POST', type: 'text/csv', token: null, body: 'a,b' });
  });

  it('times out after the task timeout', async () => {
    const t0 = Date.now();
    const result = await runHttp(httpJob({ timeoutMs: 60_000, task: { url: `${base}/hang?t`, timeoutMs: 300 } }), runContext());
    assert.equal(result.status, 'timed_out');
    assert.equal(result.message, `GET ${base}/hang?t timed out after 300ms`);
    assert.ok(Date.now() - t0 < 1_500);
  });

  it('is cancelled by the run signal', async () => {
    const controller = new AbortController();
    const running = runHttp(httpJob({ task: { url: `${base}/hang?c` } }), runContext({ signal: controller.signal }));
    await pollUntil(() => hung.includes('?c'), { what: 'request received' });
    controller.abort();
    const result = await running;
    assert.equal(result.status, 'cancelled');
  });

  it('keeps only the first 64 KiB of the body, cut on a character boundary', async () => {
    const result = await runHttp(httpJob({ task: { url: `${base}/big` } }), runContext());
    assert.equal(result.status, 'succeeded');
    assert.equal(result.details.body, 'é'.repeat(32 * 1024));
    assert.equal(result.details.body_truncated, true);
  });

  it('fails with the error code when the connection is refused', async () => {
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise((resolve) => closed.close(resolve));

    const result = await runHttp(httpJob({ task: { url: `http://user:pw@127.0.0.1:${port}/x` } }), runContext());
    assert.equal(result.status, 'failed');
    assert.match(String(result.error), new RegExp(`^GET http://127\\.0\\.0\\.1:${port}/x failed: .*ECONNREFUSED`));
    assert.equal(result.details.error_code, 'ECONNREFUSED');
  });
});

// Issue 18 item 11, the HTTP part, against a real running agent with raw requests (node:http, so that the
// Host header and the request target are exactly what the test writes): bad percent-encoding is a 400
// without a stack in the log, numeric query parameters are decimal integers only, and the Host header is
// checked against DNS rebinding (IP literals, localhost and the names of --allowed-hosts).
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../src/db/embedded.ts';
import { jobsDir, startAgent, type AgentProcess } from '../helpers/agent.ts';
import { freshDatabase } from '../helpers/db.ts';

interface Answer {
  status: number;
  type: string;
  body: string;
}

let agent: AgentProcess;
let port: number;

/** One request, written as given: `host` is the Host header, `target` the request target. */
function raw(target: string, options: { host?: string; method?: string; headers?: Record<string, string> } = {}): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path: target, method: options.method ?? 'GET', headers: { host: options.host ?? `127.0.0.1:${port}`, ...options.headers }, agent: false },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, type: String(res.headers['content-type']), body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** An HTTP/1.0 request with no Host header at all, over a plain socket. */
function withoutHost(target: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(`GET ${target} HTTP/1.0\r\n\r\n`));
    let text = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('end', () => resolve(text));
    socket.on('error', reject);
  });
}

const errorOf = (answer: Answer): { code: string; message: string } => (JSON.parse(answer.body) as { error: { code: string; message: string } }).error;

before(async () => {
  const url = await freshDatabase('http_input');
  const dir = jobsDir({ 'daily.yaml': 'schedule: "@daily"\ntask: { type: command, command: ["true"] }\n' });
  port = await freePort();
  agent = await startAgent({
    name: 'http-input',
    jobsDir: dir,
    databaseUrl: url,
    args: ['--http', `127.0.0.1:${port}`, '--allowed-hosts', 'jobsd.internal, Metrics.Example'],
    // The flag wins over the environment.
    env: { JOBSD_API_TOKEN: 'input-token', JOBSD_ALLOWED_HOSTS: 'from-env.example' },
  });
});
after(async () => {
  await agent?.stop();
});

describe('bad percent-encoding in a path', () => {
  it('answers 400 with a JSON error, for every route that takes a job id, and logs no stack', async () => {
    for (const [target, method] of [
      ['/api/jobs/%ZZ', 'GET'],
      ['/api/jobs/%ff', 'GET'],
      ['/api/jobs/%E0%A4%A', 'GET'],
      ['/api/jobs/%ZZ/runs', 'GET'],
      ['/api/jobs/%ff/run', 'POST'],
    ] as const) {
      const answer = await raw(target, { method, headers: method === 'POST' ? { authorization: 'Bearer input-token' } : {} });
      assert.equal(answer.status, 400, `${method} ${target}: ${answer.body}`);
      assert.match(answer.type, /^application\/json/);
      const error = errorOf(answer);
      assert.equal(error.code, 'bad_path');
      assert.match(error.message, /percent-encoding/);
      assert.doesNotMatch(answer.body, /\n\s+at /);
    }
    // A well-formed request after them is served, and none of them was logged as a failure with a stack.
    assert.equal((await raw('/api/jobs/daily')).status, 200);
    assert.equal((await raw('/api/jobs/%64aily')).status, 200);
    assert.deepEqual(agent.logs.filter((l) => l.msg === 'HTTP request failed' || l.err !== undefined), []);
  });
});

describe('numeric query parameters', () => {
  it('accept decimal integers only, and a 400 names the parameter', async () => {
    for (const limit of ['1e2', '0x10', '10.5', '-1', '', '+5', ' 5', '5 ', '0', '1001', '1_0', 'Infinity', '0b11']) {
      const answer = await raw(`/api/jobs/daily/runs?limit=${encodeURIComponent(limit)}`);
      assert.equal(answer.status, 400, `limit=${JSON.stringify(limit)}: ${answer.body}`);
      const error = errorOf(answer);
      assert.equal(error.code, 'bad_query');
      assert.match(error.message, /^limit: /);
    }
    for (const limit of ['1', '20', '1000']) {
      const answer = await raw(`/api/jobs/daily/runs?limit=${limit}`);
      assert.equal(answer.status, 200, `limit=${limit}: ${answer.body}`);
    }
  });
});

describe('the Host header (DNS rebinding)', () => {
  it('accepts IP literals with or without a port, localhost, and the names of --allowed-hosts', async () => {
    for (const host of [
      `127.0.0.1:${port}`, '127.0.0.1', `localhost:${port}`, 'localhost', 'LocalHost.', `[::1]:${port}`, '[::1]', '10.1.2.3:80',
      `jobsd.internal:${port}`, 'JOBSD.internal', 'metrics.example', 'metrics.example.',
    ]) {
      const answer = await raw('/api/jobs', { host });
      assert.equal(answer.status, 200, `Host: ${host}: ${answer.body}`);
    }
    assert.match(await withoutHost('/healthz'), /^HTTP\/1\.1 200 /);
  });

  it('refuses any other name, on every endpoint, with a one-line reason', async () => {
    for (const host of ['evil.example', `evil.example:${port}`, 'localhost.evil.example', '127.0.0.1.nip.io', 'from-env.example', 'jobsd.internal.evil', 'metrics']) {
      for (const target of ['/', '/api/jobs', '/api/files', '/metrics', '/healthz']) {
        const answer = await raw(target, { host });
        assert.equal(answer.status, 421, `Host: ${host} ${target}: ${answer.body}`);
        const error = errorOf(answer);
        assert.equal(error.code, 'host_not_allowed');
        assert.doesNotMatch(error.message, /\n/);
        assert.match(error.message, /--allowed-hosts/);
      }
    }
    const answer = await raw('/api/jobs', { host: 'evil.example' });
    assert.equal(errorOf(answer).message.split('"')[1], 'evil.example');
  });

  it('refuses a manual run through a foreign name even with the token', async () => {
    const answer = await raw('/api/jobs/daily/run', { method: 'POST', host: 'evil.example', headers: { authorization: 'Bearer input-token' } });
    assert.equal(answer.status, 421, answer.body);
  });
});

// The Host header rule (DNS rebinding), the --allowed-hosts setting and the request target, table by table.
// test/security/http-input.test.ts runs them against a real agent.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { agentConfig, ConfigError } from '../../src/config.ts';
import { hostProblem } from '../../src/http/host-check.ts';
import { requestUrl } from '../../src/http/request.ts';
import { runCli } from '../helpers/cli.ts';

describe('hostProblem', () => {
  const rule = (boundHost: string, allowedHosts: string[] = []) => ({ boundHost, allowedHosts });
  const cases: [string | undefined, ReturnType<typeof rule>, boolean][] = [
    [undefined, rule('127.0.0.1'), true], // HTTP/1.0 without Host: no name to rebind
    ['127.0.0.1:9464', rule('127.0.0.1'), true],
    ['192.168.1.20', rule('0.0.0.0'), true],
    ['[::1]:9464', rule('::'), true],
    ['[fe80::1]', rule('::'), true],
    ['localhost', rule('127.0.0.1'), true],
    ['LOCALHOST.:1', rule('127.0.0.1'), true],
    ['jobsd.lan:9464', rule('jobsd.lan'), true], // bound to a name: that name
    ['JobsD.Lan', rule('jobsd.lan'), true],
    ['metrics.example', rule('0.0.0.0', ['metrics.example']), true],
    ['anything.example', rule('0.0.0.0', ['*']), true],
    ['evil.example', rule('0.0.0.0', ['metrics.example']), false],
    ['metrics.example.evil', rule('0.0.0.0', ['metrics.example']), false],
    ['localhost.evil.example', rule('127.0.0.1'), false],
    ['127.0.0.1.nip.io', rule('127.0.0.1'), false],
    ['', rule('127.0.0.1'), false],
    ['[::1', rule('127.0.0.1'), false],
    ['[evil.example]:80', rule('127.0.0.1'), false],
    ['a:b:c', rule('127.0.0.1'), false],
    ['evil.example:99999999', rule('127.0.0.1'), false],
  ];
  for (const [header, r, allowed] of cases) {
    it(`${JSON.stringify(header)} with ${JSON.stringify(r)}: ${allowed ? 'answered' : 'refused'}`, () => {
      const problem = hostProblem(header, r);
      if (allowed) assert.equal(problem, null);
      else assert.match(problem ?? '', /^(requests for host|the Host header) /);
    });
  }
});

describe('--allowed-hosts and JOBSD_ALLOWED_HOSTS', () => {
  it('splits on commas, trims, lower-cases and drops a trailing dot; the flag wins over the variable', () => {
    assert.deepEqual(agentConfig({}, {}).allowedHosts, []);
    assert.deepEqual(agentConfig({}, { JOBSD_ALLOWED_HOSTS: ' A.example, b.example.,,' }).allowedHosts, ['a.example', 'b.example']);
    assert.deepEqual(agentConfig({ 'allowed-hosts': 'flag.example' }, { JOBSD_ALLOWED_HOSTS: 'env.example' }).allowedHosts, ['flag.example']);
    assert.deepEqual(agentConfig({ 'allowed-hosts': '*' }, {}).allowedHosts, ['*']);
  });

  it('refuses a port, a scheme or a path', () => {
    for (const bad of ['a.example:9464', 'http://a.example', 'a.example/x', '-a', 'a b']) {
      assert.throws(() => agentConfig({ 'allowed-hosts': bad }, {}), (e: unknown) => e instanceof ConfigError && e.message.startsWith('--allowed-hosts: '), bad);
    }
  });

  it('a bad value is a one-line usage error of jobsd start', async () => {
    const r = await runCli(['start', '--http', 'off', '--allowed-hosts', 'jobsd.example:9464'], { env: { JOBSD_DATA_DIR: '/nonexistent-jobsd' } });
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stderr, /^jobsd start: --allowed-hosts: "jobsd\.example:9464" is not a host name/m);
    assert.doesNotMatch(r.stderr, /\n\s+at /);
  });
});

describe('requestUrl', () => {
  it('keeps a path that starts with // a path, and refuses what is not a path', () => {
    assert.equal(requestUrl('//api/jobs?limit=2').pathname, '//api/jobs');
    assert.equal(requestUrl('/api/jobs?limit=2').searchParams.get('limit'), '2');
    assert.equal(requestUrl('http://example/api/jobs').pathname, '/api/jobs');
    assert.throws(() => requestUrl('*'), /not a path/);
    assert.throws(() => requestUrl('file:///etc/passwd'), /not a path/);
  });
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startHttp } from '../../src/http/server.ts';

test('healthz is always ok; readyz reports the readiness check; other paths 404', async () => {
  let reason: string | null = 'database unreachable: connection refused';
  const http = await startHttp({ host: '127.0.0.1', port: 0, readiness: async () => reason });
  try {
    assert.equal((await fetch(`${http.url}/healthz`)).status, 200);
    const notReady = await fetch(`${http.url}/readyz`);
    assert.equal(notReady.status, 503);
    assert.match(await notReady.text(), /not ready: database unreachable/);
    reason = null;
    assert.equal((await fetch(`${http.url}/readyz`)).status, 200);
    assert.equal((await fetch(`${http.url}/nope`)).status, 404);
  } finally {
    await http.close();
  }
});

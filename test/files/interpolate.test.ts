import assert from 'node:assert/strict';
import { test } from 'node:test';
import { interpolateString, interpolateValue } from '../../src/files/interpolate.ts';

const context = {
  env: { A: 'x', EMPTY: '', PORT: '8428' } as Record<string, string | undefined>,
  readFile: (p: string) => {
    if (p === '/run/secrets/token') return 's3cret\n';
    throw new Error(`ENOENT: no such file or directory, open '${p}'`);
  },
};

test('interpolation forms', () => {
  const table: [string, string][] = [
    ['plain', 'plain'],
    ['${A}', 'x'],
    ['a-${A}-b', 'a-x-b'],
    ['${MISSING:-fallback}', 'fallback'],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${MISSING:-http://127.0.0.1:${PORT}}', 'http://127.0.0.1:8428'],
    ['${A:+on}', 'on'],
    ['${EMPTY:+on}', ''],
    ['${MISSING:+on}', ''],
    ['$$HOME', '$HOME'],
    ['cost $5', 'cost $5'],
    ['${file:/run/secrets/token}', 's3cret'],
    ['${EMPTY}', ''],
  ];
  for (const [input, expected] of table) assert.equal(interpolateString(input, context), expected, input);
});

test('interpolation errors say what to do', () => {
  const table: [string, RegExp][] = [
    ['${MISSING}', /MISSING is not set \(write \$\{MISSING:-\} to allow it to be empty\)/],
    ['${MISSING:?the token is needed}', /MISSING is not set: the token is needed/],
    ['${EMPTY:?}', /EMPTY is required and not set/],
    ['${file:/nope}', /\$\{file:\/nope\}: ENOENT/],
    ['${A', /unterminated/],
    ['${1A}', /not a variable reference/],
  ];
  for (const [input, message] of table) {
    const result = interpolateString(input, context);
    assert.ok(typeof result !== 'string', input);
    assert.match(result.error, message);
  }
});

test('only string values are interpolated, never keys, and errors carry their path', () => {
  const result = interpolateValue({ '${A}': '${A}', n: 5, list: ['${A}', '${MISSING}'] }, context);
  assert.deepEqual(result.value, { '${A}': 'x', n: 5, list: ['x', '${MISSING}'] });
  assert.deepEqual(result.errors.map((e) => e.path), [['list', 1]]);
});

test("the agent's own JOBSD_* settings read as unset, and naming one is a clear error; JOBSD_ENV is readable", () => {
  const agent = { ...context, env: { JOBSD_API_TOKEN: 'agent-token', JOBSD_ENV: 'prod', JOBSD_DATABASE_URL: 'postgres://u:pw@h/db' } };
  const own = /JOBSD_API_TOKEN is one of the agent's own settings, which job files cannot read/;
  assert.match((interpolateString('${JOBSD_API_TOKEN}', agent) as { error: string }).error, own);
  assert.match((interpolateString('${JOBSD_API_TOKEN:?the token is needed}', agent) as { error: string }).error, own);
  assert.equal(interpolateString('${JOBSD_API_TOKEN:-none}', agent), 'none');
  assert.equal(interpolateString('${JOBSD_DATABASE_URL:+set}', agent), '');
  assert.equal(interpolateString('${JOBSD_ENV}-${JOBSD_ENV:-local}', agent), 'prod-prod');
});

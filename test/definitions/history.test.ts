// `history: { keep, max_age }` in a job file or in _defaults → JobDefinition.history; bad values are located errors.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadFileWithDefaults } from '../../src/definitions/directory.ts';
import { formatFileError } from '../../src/definitions/errors.ts';

const TASK = 'schedule: "@daily"\ntask: { type: command, command: ["true"] }\n';

function load(files: Record<string, string>, name: string) {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-history-'));
  for (const [file, text] of Object.entries(files)) writeFileSync(path.join(dir, file), text);
  const result = loadFileWithDefaults(path.join(dir, name), { env: {}, defaultTimezone: 'UTC' });
  return result.ok ? { definition: result.definition } : { errors: result.errors.map((e) => formatFileError(e).replace(`${dir}/`, '')) };
}

test('history in the job file, in _defaults, and the job overriding one field of _defaults', () => {
  assert.deepEqual(load({ 'a.yaml': `${TASK}history: { keep: 100, max_age: 7d }\n` }, 'a.yaml').definition?.history, { keep: 100, maxAgeMs: 7 * 86_400_000 });
  const defaults = { '_defaults.yaml': 'history: { keep: 50, max_age: 12h }\n' };
  assert.deepEqual(load({ ...defaults, 'b.yaml': TASK }, 'b.yaml').definition?.history, { keep: 50, maxAgeMs: 12 * 3_600_000 });
  assert.deepEqual(load({ ...defaults, 'c.yaml': `${TASK}history: { keep: 5 }\n` }, 'c.yaml').definition?.history, { keep: 5, maxAgeMs: 12 * 3_600_000 });
  assert.equal(load({ 'd.yaml': TASK }, 'd.yaml').definition?.history, undefined);
});

test('bad history values are located errors', () => {
  assert.deepEqual(load({ 'e.yaml': `${TASK}history:\n  keep: 0\n  max_age: 10s\n` }, 'e.yaml').errors, ['e.yaml:4:9: history.keep: 0: must be >= 1']);
  assert.deepEqual(load({ 'f.yaml': `${TASK}history:\n  max_age: 10s\n` }, 'f.yaml').errors, ['f.yaml:4:12: history.max_age: must be at least 60s']);
  assert.deepEqual(load({ 'g.yaml': `${TASK}pause_after_failures: 5\nhistory:\n  keep: 3\n` }, 'g.yaml').errors, [
    'g.yaml:5:9: history.keep: must be at least pause_after_failures (5), whose count reads that many runs from the history',
  ]);
  assert.match(load({ 'h.yaml': `${TASK}history: { last: 3 }\n` }, 'h.yaml').errors?.[0] ?? '', /^h\.yaml:3:\d+: history\.last: unknown field/);
});

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { locate } from '../../src/files/locations.ts';
import { parseText, type ParsedDocument } from '../../src/files/parse.ts';

function parsed(text: string, format: 'json' | 'json5' | 'yaml'): ParsedDocument {
  const result = parseText(text, format, 'f');
  assert.ok(!('code' in result), JSON.stringify(result));
  return result;
}

const where = (doc: ParsedDocument, path: (string | number)[], key = false) => {
  const at = locate(doc.locations, path, key);
  return at && [at.line, at.column];
};

test('YAML: values and keys are located, including inside flow collections', () => {
  const doc = parsed('id: a\nschedule:\n  cron: "0 1 * * *"\ntask: { type: command, command: [echo, "x y"] }\n', 'yaml');
  assert.deepEqual(doc.value, { id: 'a', schedule: { cron: '0 1 * * *' }, task: { type: 'command', command: ['echo', 'x y'] } });
  assert.deepEqual(where(doc, ['id']), [1, 5]);
  assert.deepEqual(where(doc, ['schedule', 'cron']), [3, 9]);
  assert.deepEqual(where(doc, ['schedule', 'cron'], true), [3, 3]);
  assert.deepEqual(where(doc, ['task', 'command', 1]), [4, 40]);
  assert.deepEqual(where(doc, ['task', 'missing']), [4, 7], 'a missing field points at its parent');
});

test('JSON5: comments, single quotes, unquoted keys, trailing commas, located', () => {
  const doc = parsed("{\n  // a comment\n  id: 'a',\n  /* block\n  comment */ task: { command: ['x', \"y\",], },\n}\n", 'json5');
  assert.deepEqual(doc.value, { id: 'a', task: { command: ['x', 'y'] } });
  assert.deepEqual(where(doc, ['id']), [3, 7]);
  assert.deepEqual(where(doc, ['task'], true), [5, 14]);
  assert.deepEqual(where(doc, ['task', 'command', 1]), [5, 37]);
});

test('JSON: values located; strings with escapes and braces do not confuse the scanner', () => {
  const doc = parsed('{"a": "x\\"}{[", "b": [1, {"c": true}]}', 'json');
  assert.deepEqual(where(doc, ['b', 1, 'c']), [1, 32]);
});

test('syntax errors carry the line and column of the problem', () => {
  const cases: [string, 'json' | 'json5' | 'yaml', number, RegExp][] = [
    ['{\n "a": 1,\n}', 'json', 3, /invalid JSON/],
    ['{\n // c\n "a": 1}', 'json', 2, /invalid JSON/],
    ['{\n a: 1,\n b: }', 'json5', 3, /invalid JSON5: invalid character/],
    ['a: 1\nb: [1, 2\n', 'yaml', 3, /invalid YAML/],
    ['a: 1\na: 2\n', 'yaml', 2, /unique/],
    ['', 'json', 1, /empty/],
  ];
  for (const [text, format, line, message] of cases) {
    const result = parseText(text, format, 'f');
    assert.ok('code' in result, text);
    assert.equal(result.line, line, `${text}: ${result.message}`);
    assert.match(result.message, message);
  }
});

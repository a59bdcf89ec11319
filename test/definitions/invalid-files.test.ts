// Every kind of bad file gets an error on the right line that names the field: one fixture per case.

import assert from 'node:assert/strict';
import { chmodSync, copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { loadDirectory, loadFileWithDefaults } from '../../src/definitions/directory.ts';
import { ERROR_CODES, formatFileError, type FileError } from '../../src/definitions/errors.ts';
import type { LoadOptions } from '../../src/definitions/load.ts';

const fixtures = path.join(import.meta.dirname, '..', 'fixtures');
const options: LoadOptions = { env: {}, defaultTimezone: 'UTC' };

const cases: { file: string; code: string; line: number; column?: number; field?: string; message: RegExp }[] = [
  { file: 'syntax.yaml', code: ERROR_CODES.syntax, line: 5, message: /invalid YAML/ },
  // The line indented too deep, not the line above it (where the yaml library's error starts).
  { file: 'over-indented.yaml', code: ERROR_CODES.syntax, line: 4, column: 4, message: /invalid YAML: this line is indented deeper than the key above it/ },
  { file: 'over-indented-deeper.yaml', code: ERROR_CODES.syntax, line: 9, column: 7, message: /invalid YAML: this line is indented deeper than the key above it/ },
  { file: 'syntax.json', code: ERROR_CODES.syntax, line: 4, message: /invalid JSON/ },
  { file: 'unknown-field.yaml', code: ERROR_CODES.schema, line: 3, column: 1, field: 'overlapp', message: /unknown field; did you mean "overlap"\?/ },
  { file: 'unknown-task-type.yaml', code: ERROR_CODES.schema, line: 4, column: 9, field: 'task.type', message: /"shell" is not one of "command", "execute_command", "http"/ },
  { file: 'bad-cron.yaml', code: ERROR_CODES.cron, line: 3, column: 9, field: 'schedule.cron', message: /minute/ },
  { file: 'unknown-zone.json5', code: ERROR_CODES.timezone, line: 5, column: 15, field: 'schedule.timezone', message: /"Europe\/Atlantis" is not an IANA time zone/ },
  { file: 'bad-duration.yaml', code: ERROR_CODES.schema, line: 3, column: 10, field: 'timeout', message: /"5 minutes" is not a duration/ },
  { file: 'missing-variable.yaml', code: ERROR_CODES.interpolate, line: 7, column: 16, field: 'task.env.REPORT_DB', message: /JOBSD_TEST_UNSET_VARIABLE is not set: REPORT_DB must be set/ },
  { file: 'two-schedule-kinds.yaml', code: ERROR_CODES.schedule, line: 4, column: 10, field: 'schedule.every', message: /two schedule kinds, cron and every: keep one/ },
  { file: 'http-without-url.yaml', code: ERROR_CODES.schema, line: 4, column: 3, field: 'task.url', message: /is required/ },
  { file: 'bad-id.yaml', code: ERROR_CODES.schema, line: 1, column: 5, field: 'id', message: /"Bad_ID" is not a valid id/ },
];

for (const c of cases) {
  test(`${c.file}: ${c.field ?? 'syntax'} error on line ${c.line}`, () => {
    const file = path.join(fixtures, 'invalid', c.file);
    const result = loadFileWithDefaults(file, options);
    assert.equal(result.ok, false, `${c.file} should be invalid`);
    const errors = (result as { errors: FileError[] }).errors;
    const error = errors.find((e) => e.code === c.code);
    assert.ok(error, `expected a ${c.code} error, got ${errors.map(formatFileError).join('\n')}`);
    assert.equal(error.file, file);
    assert.equal(error.line, c.line, formatFileError(error));
    if (c.column !== undefined) assert.equal(error.column, c.column, formatFileError(error));
    assert.equal(error.field, c.field);
    assert.match(error.message, c.message);
    const expectedPrefix = `${file}:${c.line}:${error.column}: ${c.field ? c.field + ': ' : ''}`;
    assert.ok(formatFileError(error).startsWith(expectedPrefix), formatFileError(error));
  });
}

test('a duplicate id: the first file keeps it, the second is an error naming both files', () => {
  const dir = path.join(fixtures, 'dup');
  const loaded = loadDirectory(dir, options);
  assert.deepEqual(loaded.definitions.map((d) => [d.id, path.basename(d.file)]), [['same', 'a.yaml']]);
  assert.equal(loaded.errors.length, 1);
  const error = loaded.errors[0]!;
  assert.equal(error.code, ERROR_CODES.duplicateId);
  assert.equal(error.file, path.join(dir, 'b.yaml'));
  assert.equal(error.line, 2);
  assert.equal(error.field, 'id');
  assert.match(error.message, /already the id of .*a\.yaml/);
});

test('a file writable by others is refused unless --allow-insecure-files', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-insecure-'));
  const file = path.join(dir, 'open.yaml');
  copyFileSync(path.join(fixtures, 'dup', 'a.yaml'), file);
  chmodSync(file, 0o666);
  const refused = loadFileWithDefaults(file, options);
  assert.equal(refused.ok, false);
  const error = (refused as { errors: FileError[] }).errors[0]!;
  assert.equal(error.code, ERROR_CODES.insecure);
  assert.match(formatFileError(error), /open\.yaml: refused: the file is writable by others \(mode 666\); run chmod o-w/);
  assert.equal(loadFileWithDefaults(file, { ...options, allowInsecureFiles: true }).ok, true);
});

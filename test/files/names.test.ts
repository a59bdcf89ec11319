import assert from 'node:assert/strict';
import { test } from 'node:test';
import { formatOf, idFromFileName, isDefaultsFile, isJobFileName } from '../../src/files/names.ts';

test('job file names: job extensions only, no hidden, private or leftover files', () => {
  const table: [string, boolean][] = [
    ['backup.yaml', true], ['backup.yml', true], ['backup.json', true], ['backup.json5', true], ['Backup.YAML', true],
    ['backup.txt', false], ['backup', false], ['.backup.yaml', false], ['_defaults.yaml', false], ['_draft.yaml', false],
    ['backup.yaml~', false], ['.backup.yaml.swp', false], ['backup.yaml.swp', false], ['backup.yaml.swx', false],
    ['#backup.yaml#', false], ['backup.yaml.tmp', false], ['backup.yaml.bak', false], ['backup.yaml.orig', false],
    ['backup.yaml.dpkg-new', false], ['backup.yaml.dpkg-old', false], ['backup.yaml.rpmnew', false], ['backup.yaml.rpmsave', false],
    ['..data', false], ['..2026_11_23_10_00_00.123', false],
  ];
  for (const [name, expected] of table) assert.equal(isJobFileName(name), expected, name);
});

test('formats by extension, defaults files, ids from file names', () => {
  assert.equal(formatOf('a.yml'), 'yaml');
  assert.equal(formatOf('a.json5'), 'json5');
  assert.equal(formatOf('a.json'), 'json');
  assert.equal(formatOf('a.toml'), undefined);
  assert.ok(isDefaultsFile('_defaults.yaml') && isDefaultsFile('_defaults.json5') && !isDefaultsFile('_defaults.txt'));
  assert.equal(idFromFileName('nightly-report.yaml'), 'nightly-report');
  assert.equal(idFromFileName('a.b.json'), 'a.b');
});

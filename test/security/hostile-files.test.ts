// Issue 18 items 6-10 through `jobsd validate`: NUL characters, alias / merge-key bombs, deep nesting,
// cost limits, secrets in error messages and terminal escapes. Each hostile file is one located error of
// its own; the good file next to it stays valid; nothing prints a stack trace.
import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { jobsDir } from '../helpers/agent.ts';
import { runCli } from '../helpers/cli.ts';
import { aliasBomb, binaryKey, collectionKeys, deepJson, deepJson5, deepYaml, GOOD, manyKeysJson5, manyKeysYaml, mergeBomb, recursiveAlias, recursiveAliasInList } from './hostile-texts.ts';

test('a NUL character in a string is refused at load, as a located error naming the field', async () => {
  const dir = jobsDir({ 'nul.yaml': 'schedule: "@daily"\ndescription: "a\\0b"\ntask: { type: command, command: ["true", "x\\0"] }\n' });
  const r = await runCli(['validate', dir]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(r.stdout, [`${dir}/nul.yaml:2:14: description: contains a NUL character`, `${dir}/nul.yaml:3:42: task.command[1]: contains a NUL character`, ''].join('\n'));
});

test('bombs, deep nesting and huge files: one located error each, the good file valid, no stack trace', { timeout: 60_000 }, async () => {
  const dir = jobsDir({
    'good.yaml': GOOD,
    'alias.yaml': aliasBomb(),
    'merge.yaml': mergeBomb(),
    'deep.json': deepJson(),
    'deep5.json5': deepJson5(),
    'deepy.yaml': deepYaml(),
    'keys.yaml': manyKeysYaml(),
    'keys5.json5': manyKeysJson5(),
  });
  writeFileSync(path.join(dir, 'huge.yaml'), `${GOOD}description: "${'x'.repeat(50 * 1024 * 1024)}"\n`);
  const started = Date.now();
  const r = await runCli(['validate', dir]);
  const seconds = (Date.now() - started) / 1000;
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.doesNotMatch(r.stdout + r.stderr, /\n\s+at /, 'no stack trace');
  assert.match(r.stderr, /^1 valid job file, 8 invalid\n$/);
  const lines = r.stdout.trim().split('\n').map((l) => l.slice(dir.length + 1));
  assert.deepEqual(lines, [
    'alias.yaml:2:10: refused: aliases expand to too many values (an alias or merge-key bomb?)',
    'deep.json:1:134: refused: nested more than 64 levels deep',
    'deep5.json5:1:124: refused: nested more than 64 levels deep',
    'deepy.yaml:3:68: refused: nested more than 64 levels deep',
    'huge.yaml: refused: the file is 50.0 MiB, over the limit of 1 MiB: raise it with --max-file-size (JOBSD_MAX_FILE_SIZE) if this is intended',
    'keys.yaml:9998:6: refused: more than 10,000 values: a job file needs far fewer',
    'keys5.json5: refused: the file is 1.3 MiB, over the limit of 1 MiB: raise it with --max-file-size (JOBSD_MAX_FILE_SIZE) if this is intended',
    'merge.yaml:2:16: refused: aliases expand to too many values (an alias or merge-key bomb?)',
  ]);
  assert.ok(seconds < 15, `validate took ${seconds} s`);
});

test('--max-file-size (and JOBSD_MAX_FILE_SIZE) raises the limit; a bad size is a usage error', async () => {
  const dir = jobsDir({ 'long.yaml': `${GOOD}description: "${'x'.repeat(1536 * 1024)}"\n` });
  assert.match((await runCli(['validate', dir])).stdout, /long\.yaml: refused: the file is 1\.5 MiB, over the limit of 1 MiB/);
  assert.equal((await runCli(['validate', '--max-file-size', '2MiB', dir])).code, 0);
  assert.equal((await runCli(['validate', dir], { env: { JOBSD_MAX_FILE_SIZE: '4194304' } })).code, 0);
  const bad = await runCli(['validate', '--max-file-size', '1e6', dir]);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /--max-file-size: "1e6" is not a size such as 1048576, 512KiB or 4MiB/);
});

test('at most 20 errors per file, then "and N more"', async () => {
  const dir = jobsDir({ 'typos.yaml': `${GOOD}${Array.from({ length: 100 }, (_, i) => `extra_${i}: 1\n`).join('')}` });
  const r = await runCli(['validate', '--json', dir]);
  const doc = JSON.parse(r.stdout) as { files: { errors: { text: string; code: string }[] }[] };
  const errors = doc.files[0]!.errors;
  assert.equal(errors.length, 21);
  assert.match(errors[0]!.text, /typos\.yaml:3:1: extra_0: unknown field/);
  assert.equal(errors[20]!.text, `${dir}/typos.yaml: and 80 more errors in this file`);
  assert.equal(errors[20]!.code, 'JOBSD_E_MORE');
});

test('an error about an interpolated value quotes its source text, never the value (text and --json)', async () => {
  const dir = jobsDir({
    'timeout.yaml': 'schedule: "@daily"\ntimeout: "${file:./secret}"\ntask: { type: command, command: ["true"] }\n',
    'cron.yaml': 'schedule: "${file:./shadow}"\ntask: { type: command, command: ["true"] }\n',
    'env.yaml': 'schedule: { cron: "@daily", timezone: "${ZONE_SECRET}" }\ntask: { type: command, command: ["true"] }\n',
    secret: 'FileSecret-7731abc\n',
    shadow: 'root:$6$saltsalt$hashhashhash:19000:0:99999:7:::\ndaemon:*:19000:0:99999:7:::\n',
  });
  const env = { ZONE_SECRET: 'Zone-Secret-42' };
  const text = await runCli(['validate', dir], { env });
  const json = await runCli(['validate', '--json', dir], { env });
  for (const out of [text.stdout, json.stdout]) {
    assert.doesNotMatch(out, /FileSecret-7731abc|saltsalt|hashhash|Zone-Secret-42/);
  }
  assert.match(text.stdout, /timeout\.yaml:2:10: timeout: "\$\{file:\.\/secret\}" is not a duration/);
  assert.match(text.stdout, /cron\.yaml:1:11: schedule: "\$\{file:\.\/shadow\}": expected 5 fields/);
  assert.match(text.stdout, /env\.yaml:1:39: schedule\.timezone: "\$\{ZONE_SECRET\}" is not an IANA time zone/);
});

test('a symlink to a file of another format: unknown keys are not quoted whole', async () => {
  const dir = jobsDir({ 'shadow-data': 'root:$6$saltsalt$hashhashhash:19000:0:99999:7:::\n' });
  symlinkSync(path.join(dir, 'shadow-data'), path.join(dir, 'shadow.yaml'));
  const r = await runCli(['validate', dir]);
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.stdout, /saltsalt|hashhash/);
  assert.match(r.stdout, /shadow\.yaml:1:1: ‹a key of 47 characters›: unknown field/);
});

test('control characters in file names and keys are escaped in validate output', async () => {
  const dir = jobsDir({ 'evil\x1b[31m.yaml': `${GOOD}"\\e[2J\\nfake: line": 1\n` });
  const r = await runCli(['validate', dir]);
  assert.equal(r.code, 1);
  assert.doesNotMatch(r.stdout, /\x1b/);
  assert.equal(r.stdout.split('\n').length, 2, 'one line');
  assert.match(r.stdout, /evil\\x1b\[31m\.yaml:3:1: ‹a key of 15 characters›: unknown field/);
});

test('a recursive YAML alias, and keys that are lists or mappings: located errors of their own file, no stack, no warning', async () => {
  const dir = jobsDir({ 'good.yaml': GOOD, 'cycle.yaml': recursiveAlias(), 'cycle-list.yaml': recursiveAliasInList(), 'keys.yaml': collectionKeys(), 'binary.yaml': binaryKey() });
  const r = await runCli(['validate', dir]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(r.stderr, '1 valid job file, 4 invalid\n');
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.slice(dir.length + 1)), [
    'binary.yaml:3:10: a key must be a plain string, not a !!binary value',
    'cycle-list.yaml:5:7: x[0][0]: refused: an alias that refers to a value containing it (a cycle)',
    'cycle.yaml:2:6: r.r: refused: an alias that refers to a value containing it (a cycle)',
    'keys.yaml:3:3: a key must be a plain string, not a list or a mapping',
  ]);
});

test('a key given twice in JSON or JSON5 is a located error, as in YAML (the parsers kept the last one silently)', async () => {
  const dir = jobsDir({
    'twice.json': '{\n  "schedule": "@daily",\n  "task": {"type": "command", "command": ["true"]},\n  "schedule": "* * * * *"\n}\n',
    'twice.json5': "{\n  schedule: '@daily',\n  task: {type: 'command', command: ['true'], 'type': 'http'},\n}\n",
    'escaped.json': '{"schedule": "@daily", "task": {"type": "command", "command": ["true"]}, "sched\\u0075le": "@hourly"}\n',
  });
  const r = await runCli(['validate', dir]);
  assert.equal(r.code, 1, r.stdout + r.stderr);
  assert.equal(r.stderr, '0 valid job files, 3 invalid\n');
  assert.deepEqual(r.stdout.trim().split('\n').map((l) => l.slice(dir.length + 1)), [
    'escaped.json:1:74: invalid JSON: the key "schedule" appears twice',
    'twice.json:4:3: invalid JSON: the key "schedule" appears twice',
    'twice.json5:3:46: invalid JSON5: the key "type" appears twice',
  ]);
});

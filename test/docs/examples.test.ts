// Every job example of the README and docs/ is run through the CLI: `jobsd validate` accepts it and
// `jobsd next` computes its fires (issue 19 item 12). The convention: a fenced block marked yaml, yml,
// json or json5 whose value is an object with `schedule` or `task` is a job file; one with only one of the
// two shows that part (a reference section's example) and is completed with a minimal other part
// (`schedule: every 1h`, a `true` command). Other blocks of those languages (a `notify:` or
// `scrape_configs:` fragment) are not checked. A block whose first line is a comment naming a file
// (`# jobs.d/nightly-report.yaml`) is written under that file name. The `npx jobsd validate …` and
// `npx jobsd next …` lines of `sh` blocks are run as written, from the repository.

import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import JSON5 from 'json5';
import { parse as parseYaml } from 'yaml';
import { ROOT, runCli } from '../helpers/cli.ts';

interface Example {
  doc: string;
  line: number;
  lang: string;
  text: string;
}

const FENCE = /^```(yaml|yml|json5?)\s*$/;

function examples(doc: string): Example[] {
  const lines = readFileSync(path.join(ROOT, doc), 'utf8').split('\n');
  const found: Example[] = [];
  for (let i = 0; i < lines.length; i++) {
    const lang = FENCE.exec(lines[i]!)?.[1];
    if (!lang) continue;
    const end = lines.indexOf('```', i + 1);
    assert.ok(end > i, `${doc}:${i + 1}: a fence that does not close`);
    found.push({ doc, line: i + 2, lang, text: lines.slice(i + 1, end).join('\n') + '\n' });
    i = end;
  }
  return found;
}

function parsed(example: Example): unknown {
  try {
    return example.lang.startsWith('json') ? JSON5.parse(example.text) : parseYaml(example.text);
  } catch {
    return undefined;
  }
}

function isJob(example: Example): boolean {
  const value = parsed(example);
  if (value === undefined) return true; // a broken example is checked, and fails
  return value !== null && typeof value === 'object' && !Array.isArray(value) && ('schedule' in value || 'task' in value);
}

const MINIMAL = { schedule: 'every 1h', task: { type: 'command', command: ['true'] } };

/** The example as a whole job file: a part alone gets the other part, minimal. */
function completed(example: Example): string {
  const value = parsed(example) as Record<string, unknown> | undefined;
  if (!value || ('schedule' in value && 'task' in value)) return example.text;
  const missing = 'schedule' in value ? 'task' : 'schedule';
  if (example.lang.startsWith('json')) return JSON.stringify({ ...value, [missing]: MINIMAL[missing] }, null, 2) + '\n';
  return `${example.text}${missing}: ${JSON.stringify(MINIMAL[missing])}\n`;
}

const DOCS = ['README.md', ...readdirSync(path.join(ROOT, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];
const JOBS = DOCS.flatMap(examples).filter(isJob);

/** Values for the variables an example reads, and its `${file:…}` files, so that it loads as written. */
function place(example: Example): { file: string; env: Record<string, string> } {
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-doc-example-'));
  const named = /^#\s*(?:jobs\.d\/)?([\w.-]+\.(?:ya?ml|json5?))\s*$/.exec(example.text.split('\n')[0]!)?.[1];
  const ext = example.lang === 'yml' ? 'yaml' : example.lang;
  const file = path.join(dir, named ?? `example-${example.line}.${ext}`);
  writeFileSync(file, completed(example));
  const env: Record<string, string> = {};
  for (const [, name] of example.text.matchAll(/\$\{([A-Za-z_]\w*)/g)) env[name!] = name!.endsWith('_URL') ? 'http://127.0.0.1:9/example' : `example-${name!.toLowerCase()}`;
  for (const [, target] of example.text.matchAll(/\$\{file:([^}]+)\}/g)) {
    const at = path.resolve(dir, target!);
    mkdirSync(path.dirname(at), { recursive: true });
    writeFileSync(at, 'example-secret-value\n');
  }
  return { file, env };
}

test('the docs hold job examples to check', () => {
  assert.ok(JOBS.length >= 10, `only ${JOBS.length} job examples found`);
  assert.ok(JOBS.some((e) => e.doc === 'README.md'));
  assert.ok(JOBS.some((e) => e.doc === 'docs/job-file.md'));
});

for (const example of JOBS) {
  test(`${example.doc}:${example.line}: jobsd validate and jobsd next accept it`, async () => {
    const { file, env } = place(example);
    const validate = await runCli(['validate', file], { env: { JOBSD_ENV: '', ...env } });
    assert.equal(validate.code, 0, `${example.doc}:${example.line}:\n${example.text}\n${validate.stdout}${validate.stderr}`);
    const next = await runCli(['next', file, '--from', '2026-06-01T00:00:00Z', '--count', '3', '--json'], { env: { JOBSD_ENV: '', ...env } });
    assert.equal(next.code, 0, `${example.doc}:${example.line}: ${next.stderr}`);
    assert.ok(Array.isArray(JSON.parse(next.stdout)), next.stdout);
  });
}

/** The trigger each APScheduler argument belongs to (docs/job-file.md, "Trigger arguments"). */
function triggerOf(arg: string): 'cron' | 'interval' | 'date' {
  if (['weeks', 'days', 'hours', 'minutes', 'seconds'].includes(arg)) return 'interval';
  if (arg === 'run_date') return 'date';
  return 'cron';
}

test('every example of an APScheduler trigger argument in the reference validates', async () => {
  const schema = JSON.parse(readFileSync(path.join(ROOT, 'schemas', 'job.schema.json'), 'utf8')) as {
    $defs: { scheduleObject: { properties: { args: { properties: Record<string, { examples?: unknown[] }> } } } };
  };
  const dir = mkdtempSync(path.join(tmpdir(), 'jobsd-doc-args-'));
  const files: string[] = [];
  for (const [arg, { examples = [] }] of Object.entries(schema.$defs.scheduleObject.properties.args.properties)) {
    for (const [i, example] of examples.entries()) {
      const type = triggerOf(arg);
      const args: Record<string, unknown> = { [arg]: example };
      if (type === 'interval' && !/^(weeks|days|hours|minutes|seconds)$/.test(arg)) args.hours = 1;
      if (type === 'cron' && arg === 'start_date') args.hour = 2;
      if (arg === 'end_date' || arg === 'jitter' || arg === 'timezone') args.minute = 0;
      const file = path.join(dir, `${arg.replace(/_/g, '-')}-${i}.json`);
      writeFileSync(file, JSON.stringify({ schedule: { type, args }, task: { type: 'command', command: ['true'] } }));
      files.push(file);
    }
  }
  assert.ok(files.length > 10);
  const validate = await runCli(['validate', ...files]);
  assert.equal(validate.code, 0, validate.stdout + validate.stderr);
});

/** `npx jobsd validate …` and `npx jobsd next …` lines of the docs' `sh` blocks, as argument lists. */
function commandLines(doc: string): { line: number; args: string[] }[] {
  const lines = readFileSync(path.join(ROOT, doc), 'utf8').split('\n');
  const found: { line: number; args: string[] }[] = [];
  let inSh = false;
  for (const [i, text] of lines.entries()) {
    if (/^```(sh|bash|shell)\s*$/.test(text)) inSh = true;
    else if (text.startsWith('```')) inSh = false;
    else if (inSh && /^npx jobsd (validate|next) /.test(text)) {
      const words = [...text.replace(/\s+#.*$/, '').matchAll(/"([^"]*)"|(\S+)/g)].map((m) => m[1] ?? m[2]!);
      found.push({ line: i + 1, args: words.slice(2) });
    }
  }
  return found;
}

for (const doc of DOCS) {
  for (const { line, args } of commandLines(doc)) {
    test(`${doc}:${line}: jobsd ${args.join(' ')} succeeds`, async () => {
      const result = await runCli(args, { env: { JOBSD_ENV: '' } });
      assert.equal(result.code, 0, `${doc}:${line}: ${result.stdout}${result.stderr}`);
    });
  }
}

// schemas/job.schema.json: in step with src/definitions/job-file.ts, documented everywhere,
// valid for ajv 8 in strict mode, and the source of docs/job-file.md.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Ajv2020 } from 'ajv/dist/2020.js';
import { HISTORY_KEYS, JOB_FILE_KEYS, LIMITS_KEYS, RETRY_KEYS, SCHEDULE_KEYS, TASK_KEYS } from '../../src/definitions/job-file.ts';
import { DOC_PATH, renderReference, type SchemaNode } from '../../scripts/schema-doc.ts';

const SCHEMA_URL = new URL('../../schemas/job.schema.json', import.meta.url);
const schema = JSON.parse(readFileSync(SCHEMA_URL, 'utf8')) as SchemaNode & { $id: string };
const defs = schema.$defs ?? {};

function def(name: string): SchemaNode {
  const node = defs[name];
  assert.ok(node, `$defs.${name} exists`);
  return node;
}

function keysOf(node: SchemaNode): string[] {
  return Object.keys(node.properties ?? {}).sort();
}

function compile() {
  // Union types (`type: ["string", "number"]`) need allowUnionTypes under strict mode.
  const ajv = new Ajv2020({ strict: true, allowUnionTypes: true, allErrors: true });
  return { ajv, validate: ajv.compile(schema) };
}

test('schema: identity', () => {
  assert.equal((schema as { $schema?: string }).$schema, 'https://json-schema.org/draft/2020-12/schema');
  assert.equal(schema.$id, 'https://jobsd.dev/schemas/job.schema.json');
  assert.ok(schema.title && schema.description);
});

test('schema: property sets match the *_KEYS records of job-file.ts', () => {
  assert.deepEqual(keysOf(schema), Object.keys(JOB_FILE_KEYS).sort(), 'job');
  assert.deepEqual(keysOf(def('scheduleObject')), Object.keys(SCHEDULE_KEYS).sort(), 'schedule');
  assert.deepEqual(keysOf(def('retry')), Object.keys(RETRY_KEYS).sort(), 'retry');
  assert.deepEqual(keysOf(def('commandLimits')), Object.keys(LIMITS_KEYS).sort(), 'limits');
  assert.deepEqual(keysOf(def('history')), Object.keys(HISTORY_KEYS).sort(), 'history');
  const taskDefs = { command: 'commandTask', http: 'httpTask', 'vm-collect': 'vmCollectTask', 'vm-extract': 'vmExtractTask' } as const;
  assert.deepEqual(Object.keys(taskDefs).sort(), Object.keys(TASK_KEYS).sort());
  for (const [type, name] of Object.entries(taskDefs)) {
    assert.deepEqual(keysOf(def(name)), Object.keys(TASK_KEYS[type as keyof typeof TASK_KEYS]).sort(), type);
  }
});

test('schema: the task type enum and its branches agree', () => {
  const task = schema.properties?.task;
  assert.ok(task);
  const types = task.properties?.type?.enum;
  assert.deepEqual(types, ['command', 'execute_command', 'http', 'vm-collect', 'vm-extract']);
  const branches = (task.allOf ?? []).map((b) => [b.if?.properties?.type?.const, b.then?.$ref]);
  assert.deepEqual(branches, [
    ['command', '#/$defs/commandTask'],
    ['execute_command', '#/$defs/commandTask'],
    ['http', '#/$defs/httpTask'],
    ['vm-collect', '#/$defs/vmCollectTask'],
    ['vm-extract', '#/$defs/vmExtractTask'],
  ]);
});

test('schema: every property at every level has a title, a description and examples', () => {
  const missing: string[] = [];
  let count = 0;
  const walk = (node: unknown, path: string): void => {
    if (Array.isArray(node)) {
      node.forEach((n, i) => walk(n, `${path}/${i}`));
      return;
    }
    if (node === null || typeof node !== 'object') return;
    for (const [key, value] of Object.entries(node)) {
      if (key === 'examples' || key === 'default' || key === 'const' || key === 'enum') continue;
      if (key === 'properties' && value && typeof value === 'object') {
        for (const [name, prop] of Object.entries(value as Record<string, SchemaNode>)) {
          // `if` branches only select on a property; they describe nothing.
          if (path.includes('/if')) continue;
          count++;
          for (const field of ['title', 'description', 'examples'] as const) {
            const v = prop[field];
            if (v === undefined || (typeof v === 'string' && v.trim() === '') || (Array.isArray(v) && v.length === 0)) {
              missing.push(`${path}/properties/${name}: ${field}`);
            }
          }
        }
      }
      walk(value, `${path}/${key}`);
    }
  };
  walk(schema, '#');
  assert.ok(count > 60, `walked ${count} properties`);
  assert.deepEqual(missing, []);
});

test('schema: every object is closed except the free-form maps', () => {
  const open: string[] = [];
  const walk = (node: unknown, path: string): void => {
    if (node === null || typeof node !== 'object') return;
    if (Array.isArray(node)) return node.forEach((n, i) => walk(n, `${path}/${i}`));
    const n = node as SchemaNode;
    if (n.properties && !path.includes('/if') && path !== '#/properties/task' && n.additionalProperties !== false) open.push(path);
    for (const [key, value] of Object.entries(node)) if (key !== 'examples') walk(value, `${path}/${key}`);
  };
  walk(schema, '#');
  assert.deepEqual(open, []);
});

test('schema: compiles with ajv 8 (2020-12) in strict mode', () => {
  assert.doesNotThrow(() => compile());
});

test('schema: the examples of the job and of every property are valid (except raw ${...} interpolation)', () => {
  const { ajv } = compile();
  const bad: string[] = [];
  const check = (pointer: string, node: SchemaNode) => {
    const validate = ajv.getSchema(`${schema.$id}${pointer}`);
    assert.ok(validate, pointer);
    for (const example of node.examples ?? []) {
      if (typeof example === 'string' && example.startsWith('${')) continue;
      if (!validate(example)) bad.push(`${pointer}: ${JSON.stringify(example)}: ${ajv.errorsText(validate.errors)}`);
    }
  };
  const walk = (node: SchemaNode, pointer: string) => {
    check(pointer, node);
    for (const [name, prop] of Object.entries(node.properties ?? {})) walk(prop, `${pointer}/properties/${name.replaceAll('~', '~0').replaceAll('/', '~1')}`);
  };
  walk(schema, '#');
  for (const [name, node] of Object.entries(defs)) walk(node, `#/$defs/${name}`);
  assert.deepEqual(bad, []);
});

const base = { schedule: '0 1 * * *', task: { type: 'command', command: ['true'] } };

const VALID: [string, unknown][] = [
  ['the design example', {
    $schema: '../schemas/job.schema.json',
    id: 'nightly-report',
    description: 'Nightly sales report',
    enabled: true,
    schedule: { cron: '0 1 * * 1-5', timezone: 'Europe/Berlin', jitter: '30s', catchup: 'skip', catchup_window: '6h' },
    overlap: 'skip',
    timeout: '30m',
    retry: { attempts: 3, delay: '30s', backoff: 2, max_delay: '10m' },
    idempotency_key: 'v1',
    task: { type: 'command', command: ['python3', 'report.py', '--out', '/var/reports'], cwd: '/opt/scripts', env: { REPORT_DB: 'postgres://x' } },
    environments: { prod: { schedule: { cron: '0 2 * * 1-5' } } },
  }],
  ['vm-collect', {
    id: 'apex-collector',
    enabled: '',
    schedule: 'every 15m',
    task: {
      type: 'vm-collect',
      source: { url: 'https://apex.example.com/api', token: 't', date_param: 'business_date' },
      victoriametrics: { url: 'http://vm:8428' },
      metric_prefix: 'apex_data_',
      label_fields: ['desk'],
      labels: { source: 'apex', job: 'apex_collector', env: 'local' },
      watermark: { metric: 'apex_collector_watermark_days', start_date: '2026-01-05' },
      sliding_window_days: 0,
    },
  }],
  ['vm-extract', {
    schedule: { every: 3600 },
    task: {
      type: 'vm-extract',
      victoriametrics: { url: 'http://vm:8428' },
      query: '{__name__=~"apex_data_.*"}',
      start_date_offset_days: 10,
      chunk_size_days: 7,
      database: { url: '' },
      step: '1h',
    },
  }],
  ['http with status list', { ...base, task: { type: 'http', method: 'POST', url: 'https://x.example/y', body: { a: 1 }, expect_status: ['2xx', 304] } }],
  ['http with one status', { ...base, task: { type: 'http', url: 'http://x.example', expect_status: 204 } }],
  ['execute_command string', { job_id: 'legacy_job', schedule: '@once', task: { type: 'execute_command', command: 'echo hi | wc -c' } }],
  ['APScheduler cron', { ...base, schedule: { type: 'cron', args: { day_of_week: 'mon-fri', hour: 2, minute: '*/15' } } }],
  ['at, string enabled', { ...base, enabled: 'true', schedule: { at: '2026-12-01T02:00:00+01:00' } }],
  ['once', { ...base, schedule: { once: true }, idempotency_key: 'v2' }],
  ['ISO string schedule', { ...base, schedule: '2026-12-01T02:00:00Z', timeout: ' 1h30m ' }],
];

const INVALID: [string, unknown, string][] = [
  ['unknown top-level field', { ...base, shedule: '* * * * *' }, '/shedule'],
  ['unknown task type', { ...base, task: { type: 'shell', command: 'x' } }, '/task/type'],
  ['http without url', { ...base, task: { type: 'http', method: 'GET' } }, '/task'],
  ['bad duration string', { ...base, timeout: '5 minutes' }, '/timeout'],
  ['negative duration', { ...base, timeout: -1 }, '/timeout'],
  ['bad id', { ...base, id: 'Nightly Report' }, '/id'],
  ['missing schedule', { task: base.task }, ''],
  ['missing task', { schedule: base.schedule }, ''],
  ['empty schedule string', { ...base, schedule: '' }, '/schedule'],
  ['unknown schedule field', { ...base, schedule: { cron: '* * * * *', timezon: 'UTC' } }, '/schedule/timezon'],
  ['bad enabled string', { ...base, enabled: 'yes' }, '/enabled'],
  ['bad overlap', { ...base, overlap: 'never' }, '/overlap'],
  ['field of another task type', { ...base, task: { type: 'command', command: ['x'], url: 'http://x' } }, '/task/url'],
  ['empty argv', { ...base, task: { type: 'command', command: [] } }, '/task/command'],
  ['exit code out of range', { ...base, task: { type: 'command', command: ['x'], success_exit_codes: [256] } }, '/task/success_exit_codes/0'],
  ['bad http url', { ...base, task: { type: 'http', url: 'ftp://x' } }, '/task/url'],
  ['bad status class', { ...base, task: { type: 'http', url: 'http://x', expect_status: '6xx' } }, '/task/expect_status'],
  ['bad retry backoff', { ...base, retry: { backoff: 0.5 } }, '/retry/backoff'],
  ['vm-collect bad start_date', {
    ...base,
    task: { type: 'vm-collect', source: { url: 'u' }, victoriametrics: { url: 'v' }, metric_prefix: 'p_', watermark: { metric: 'm', start_date: '5.1.2026' } },
  }, '/task/watermark/start_date'],
  ['vm-extract chunk 0', { ...base, task: { type: 'vm-extract', victoriametrics: { url: 'v' }, query: 'q', chunk_size_days: 0 } }, '/task/chunk_size_days'],
];

test('schema: accepts valid documents', () => {
  const { ajv, validate } = compile();
  for (const [name, doc] of VALID) assert.ok(validate(doc), `${name}: ${ajv.errorsText(validate.errors)}`);
  for (const [i, doc] of (schema.examples ?? []).entries()) assert.ok(validate(doc), `schema example ${i}: ${ajv.errorsText(validate.errors)}`);
});

test('schema: rejects invalid documents, at the offending value', () => {
  const { validate } = compile();
  for (const [name, doc, where] of INVALID) {
    assert.equal(validate(doc), false, `${name} is rejected`);
    // additionalProperties errors sit on the object; name the unknown key as schema-errors.ts does.
    const paths = (validate.errors ?? []).map((e) =>
      e.keyword === 'additionalProperties' ? `${e.instancePath}/${String(e.params.additionalProperty)}` : e.instancePath,
    );
    assert.ok(paths.some((p) => p === where), `${name}: an error at "${where}" among ${JSON.stringify(paths)}`);
  }
});

test('docs/job-file.md is generated from the schema (run `node scripts/schema-doc.ts`)', () => {
  assert.equal(readFileSync(DOC_PATH, 'utf8'), renderReference(schema));
});

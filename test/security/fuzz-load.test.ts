// Issue 18, the property test of file → definition → next fire: mutations of the example files in jobs.d/
// (byte flips, truncation, inserted strings, unicode and control characters, deep nesting, YAML anchors and
// aliases, duplicated keys and lines) are loaded through the loader of the agent and `jobsd validate`
// (loadJobFile with the bytes read, as the agent's reloader calls it, and loadFileWithDefaults, as `jobsd
// validate` does, with the examples' own _defaults). Loading never throws, takes little time per
// file, rejects with errors that each name the file and a line, and for an accepted file the planner's
// answers (next fires, catch-up, jitter, the description) never throw either; nothing warns on stderr.
// A fixed seed keeps CI reproducible; JOBSD_FUZZ_SEED and JOBSD_FUZZ_RUNS explore further.
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { setImmediate } from 'node:timers/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { loadFileWithDefaults } from '../../src/definitions/directory.ts';
import { ERROR_CODES, formatFileError } from '../../src/definitions/errors.ts';
import { loadDefaults, loadJobFile, type LoadOptions, type LoadResult } from '../../src/definitions/load.ts';
import { planCatchUp } from '../../src/schedule/catchup.ts';
import { describeTrigger } from '../../src/schedule/describe.ts';
import { jitterDelay } from '../../src/schedule/jitter.ts';
import { nextFire, nextFires } from '../../src/schedule/next.ts';
import { ROOT } from '../helpers/cli.ts';

const SEED = Number(process.env.JOBSD_FUZZ_SEED ?? 18_011);
const RUNS = Number(process.env.JOBSD_FUZZ_RUNS ?? 300);
/** A job file loads in well under this (most in a millisecond); a hang or a quadratic blow-up does not. */
const PER_FILE_MS = 1_000;

const EXAMPLES = path.join(ROOT, 'jobs.d');
const examples = readdirSync(EXAMPLES)
  .filter((name) => /\.(ya?ml|json5?)$/.test(name))
  .map((name) => ({ name, bytes: readFileSync(path.join(EXAMPLES, name)) }));
const jobs = examples.filter((e) => !e.name.startsWith('_'));
const defaults = examples.find((e) => e.name === '_defaults.yaml')!;

type Mutation =
  | { kind: 'flip'; at: number; byte: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'insert'; at: number; text: string }
  | { kind: 'insert-line'; line: number; text: string }
  | { kind: 'duplicate-line'; line: number; times: number }
  | { kind: 'delete-line'; line: number };

const control = fc.constantFrom('\u0000', '\u0001', '\u0007', '\b', '\t', '\n', '\r', '\u000b', '\u000c', '\u001b[31m', '\u007f', '\u0085', '\u2028', '\u2029', '\ufeff', '\ud800', '\udfff');
const syntax = fc.constantFrom(':', ': ', '- ', '-', '? ', '[', ']', '{', '}', ',', '"', "'", '#', '&a ', '*a', '<<: *a\n', '!!binary ', '!!js/function ', '|', '>', '---\n', '...\n', '%YAML 1.2\n', '\\', '\\u', '\\x', '/*', '*/', '//', '$', '${', '${file:', '${VM_URL', '$$', '0x', '1e999', 'NaN', '-Infinity', 'null', '~', 'true', '__proto__', 'constructor', 'toString');
const nesting = fc.tuple(fc.constantFrom('[', '{"a":', '{a:', '- ', '  - ', 'a: {', 'k:\n  '), fc.integer({ min: 2, max: 300 })).map(([open, n]) => open.repeat(n));
const anchors = fc.constantFrom(
  'x: &a [1, 2, 3]\ny: *a\n',
  'base: &b { cron: "* * * * *" }\nschedule: *b\n',
  'task: &t { type: command, command: ["true"] }\nother: *t\n',
  'a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n',
  '<<: { overlap: queue }\n',
  '<<: [*nope]\n',
  '*undefined_alias\n',
  'r: &r\n  r: *r\n',
);
const duplicateKeys = fc.constantFrom('id: dup\nid: dup2\n', 'schedule: "@daily"\n', 'task: { type: http, url: "http://127.0.0.1:1/" }\n', '"id": "x", "id": "y",', 'timeout: 5m\ntimeout: 1h\n');
const insertion = fc.oneof(
  fc.string({ maxLength: 20 }),
  fc.string({ unit: 'binary', maxLength: 20 }),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
  fc.array(control, { minLength: 1, maxLength: 5 }).map((parts) => parts.join('')),
  fc.array(syntax, { minLength: 1, maxLength: 6 }).map((parts) => parts.join('')),
  nesting,
  anchors,
  duplicateKeys,
);

/** One mutation, its positions as fractions of the file so that they fit any length. */
const mutation: fc.Arbitrary<(size: number, lines: number) => Mutation> = fc.oneof(
  fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 0, max: 255 })).map(([f, byte]) => (size: number) => ({ kind: 'flip' as const, at: Math.floor(f * size), byte })),
  fc.double({ min: 0, max: 1, noNaN: true }).map((f) => (size: number) => ({ kind: 'truncate' as const, at: Math.floor(f * size) })),
  fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), insertion).map(([f, text]) => (size: number) => ({ kind: 'insert' as const, at: Math.floor(f * size), text })),
  fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.integer({ min: 1, max: 3 })).map(([f, times]) => (_: number, lines: number) => ({ kind: 'duplicate-line' as const, line: Math.floor(f * lines), times })),
  fc.double({ min: 0, max: 1, noNaN: true }).map((f) => (_: number, lines: number) => ({ kind: 'delete-line' as const, line: Math.floor(f * lines) })),
  // Whole lines at the start of a line, where YAML reads them as keys (anchors, aliases, duplicates).
  fc.tuple(fc.double({ min: 0, max: 1, noNaN: true }), fc.oneof(anchors, duplicateKeys, nesting.map((n) => `x: ${n}\n`))).map(([f, text]) => (_: number, lines: number) => ({ kind: 'insert-line' as const, line: Math.floor(f * lines), text })),
);

function apply(bytes: Buffer, m: Mutation): Buffer {
  switch (m.kind) {
    case 'flip': {
      if (bytes.length === 0) return bytes;
      const out = Buffer.from(bytes);
      out[Math.min(m.at, out.length - 1)] = m.byte;
      return out;
    }
    case 'truncate':
      return bytes.subarray(0, m.at);
    case 'insert':
      return Buffer.concat([bytes.subarray(0, m.at), Buffer.from(m.text, 'utf8'), bytes.subarray(m.at)]);
    case 'duplicate-line':
    case 'delete-line':
    case 'insert-line': {
      const lines = bytes.toString('latin1').split('\n');
      const i = Math.min(m.line, lines.length - 1);
      if (m.kind === 'delete-line') lines.splice(i, 1);
      else if (m.kind === 'insert-line') lines.splice(i, 0, ...Buffer.from(m.text, 'utf8').toString('latin1').replace(/\n$/, '').split('\n'));
      else lines.splice(i, 0, ...Array<string>(m.times).fill(lines[i]!));
      return Buffer.from(lines.join('\n'), 'latin1');
    }
  }
}

const mutated = (source: { bytes: Buffer }) =>
  fc.array(mutation, { minLength: 1, maxLength: 4 }).map((makers) => {
    let bytes = source.bytes;
    const applied: Mutation[] = [];
    for (const make of makers) {
      const m = make(bytes.length, bytes.toString('latin1').split('\n').length);
      applied.push(m);
      bytes = apply(bytes, m);
    }
    return { bytes, applied };
  });

let dir: string;
const options: LoadOptions = {
  env: { PATH: '/usr/bin:/bin', HOME: '/nonexistent', VM_URL: 'http://127.0.0.1:8428', NOTIFY_WEBHOOK_URL: 'http://127.0.0.1:1/hook' },
  defaultTimezone: 'UTC',
};

/** Process warnings seen while loading: yaml's went to stderr, quoting the file. */
const warnings: string[] = [];
const onWarning = (warning: Error) => warnings.push(warning.message);

before(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'jobsd-fuzz-'));
  process.on('warning', onWarning);
});
after(() => {
  process.off('warning', onWarning);
  rmSync(dir, { recursive: true, force: true });
});

/** A jobs directory of its own for one property, with a `_defaults.yaml`. */
function jobsDirectory(defaultsBytes: Buffer): string {
  const sub = mkdtempSync(path.join(dir, 'd-'));
  writeFileSync(path.join(sub, '_defaults.yaml'), defaultsBytes);
  return sub;
}

/**
 * Loads `bytes` as the file `name` of `sub` the way the agent's reloader does: the bytes it read, with the
 * directory's parsed `_defaults` (src/catalog/reload.ts; the off-thread loader runs the same function).
 */
function loadAsAgent(sub: string, name: string, bytes: Buffer): { result: LoadResult; file: string; ms: number } {
  const file = path.join(sub, name);
  const started = performance.now();
  const defaultsDoc = loadDefaults(path.join(sub, '_defaults.yaml'), options);
  const result = Array.isArray(defaultsDoc)
    ? ({ ok: false, errors: defaultsDoc } as const)
    : loadJobFile(file, defaultsDoc, options, { bytes, size: bytes.length, mode: 0o100644, uid: process.getuid!() });
  return { result, file, ms: performance.now() - started };
}

/** Writes `bytes` as the file `name` of `sub` (and its `_defaults.yaml` when given) and loads it as `jobsd validate` does. */
function loadAsValidate(sub: string, name: string, bytes: Buffer, defaultsBytes?: Buffer): { result: LoadResult; file: string; ms: number } {
  if (defaultsBytes) writeFileSync(path.join(sub, '_defaults.yaml'), defaultsBytes);
  const file = path.join(sub, name);
  writeFileSync(file, bytes);
  const started = performance.now();
  const result = loadFileWithDefaults(file, options);
  return { result, file, ms: performance.now() - started };
}

/** The properties every outcome must have; returns what it saw, for the counts. */
function check(outcome: { result: LoadResult; file: string; ms: number }, defaultsFile: string): 'accepted' | 'rejected' {
  const { result, file, ms } = outcome;
  assert.ok(ms < PER_FILE_MS, `loading took ${ms.toFixed(0)} ms`);
  if (!result.ok) {
    assert.ok(result.errors.length > 0, 'a rejected file has at least one error');
    for (const error of result.errors) {
      const text = formatFileError(error);
      assert.ok(Object.values(ERROR_CODES).includes(error.code), `a known code: ${text}`);
      assert.ok(error.file === file || error.file === defaultsFile, `the error names the file: ${text}`);
      assert.ok(typeof error.message === 'string' && error.message.length > 0, `a message: ${text}`);
      // "and 9,981 more" stands for errors that each had their place.
      if (error.code !== ERROR_CODES.more) assert.ok(Number.isInteger(error.line) && error.line! >= 1, `a line: ${text}`);
    }
    return 'rejected';
  }
  const { schedule, id } = result.definition;
  const now = Date.UTC(2026, 11, 3, 13, 0, 0);
  const next = nextFire(schedule, now);
  assert.ok(next === null || (Number.isFinite(next) && next > now), `next fire after now: ${next}`);
  const fires = nextFires(schedule, now, 5);
  for (let i = 1; i < fires.length; i++) assert.ok(fires[i]! > fires[i - 1]!, 'fires increase');
  planCatchUp(schedule, 'fuzz', now - 86_400_000, now);
  if (next !== null) {
    const delay = jitterDelay(id, next, schedule.jitterMs);
    assert.ok(delay >= 0 && delay <= schedule.jitterMs, `jitter within bounds: ${delay}`);
  }
  assert.equal(typeof describeTrigger(schedule), 'string');
  return 'accepted';
}

describe('mutated example files through the loader and the planner', () => {
  for (const source of jobs) {
    it(`${source.name}: never throws, never hangs, rejects with located errors, plans what it accepts`, { timeout: 20_000 }, () => {
      const seen = { accepted: 0, rejected: 0 };
      const sub = jobsDirectory(defaults.bytes);
      fc.assert(
        fc.property(mutated(source), ({ bytes }) => {
          const outcome = loadAsAgent(sub, source.name, bytes);
          seen[check(outcome, path.join(path.dirname(outcome.file), '_defaults.yaml'))]++;
        }),
        { seed: SEED, numRuns: RUNS, endOnFailure: true, includeErrorInReport: true },
      );
      assert.ok(seen.rejected > 0, `some mutations are rejected: ${JSON.stringify(seen)}`);
    });
  }

  it('_defaults.yaml mutated under a valid job: the same, the errors naming the defaults file', { timeout: 20_000 }, () => {
    const job = jobs.find((j) => j.name === 'heartbeat.yaml')!;
    const sub = jobsDirectory(defaults.bytes);
    fc.assert(
      fc.property(mutated(defaults), ({ bytes }) => {
        const outcome = loadAsValidate(sub, job.name, job.bytes, bytes);
        check(outcome, path.join(path.dirname(outcome.file), '_defaults.yaml'));
      }),
      { seed: SEED, numRuns: RUNS, endOnFailure: true, includeErrorInReport: true },
    );
  });

  it('loading wrote no process warning (they go to stderr, quoting the file)', async () => {
    await setImmediate(); // process warnings are emitted a turn later
    assert.deepEqual(warnings, []);
  });

  it('the examples themselves load, and each mutation kind is applied', () => {
    const sub = jobsDirectory(defaults.bytes);
    for (const source of jobs) {
      const { result } = loadAsValidate(sub, source.name, source.bytes);
      assert.ok(result.ok, `${source.name}: ${result.ok ? '' : result.errors.map(formatFileError).join('\n')}`);
    }
    const kinds = new Set(fc.sample(mutated(jobs[0]!), { seed: SEED, numRuns: 200 }).flatMap((s) => s.applied.map((m) => m.kind)));
    assert.deepEqual([...kinds].sort(), ['delete-line', 'duplicate-line', 'flip', 'insert', 'insert-line', 'truncate']);
  });
});

// ajv errors → located, readable messages. One message per problem, on the value concerned.

import type { ErrorObject } from 'ajv';

export interface SchemaProblem {
  path: (string | number)[];
  message: string;
  /** True when the location of the key is more useful than that of the value (unknown fields). */
  atKey: boolean;
}

export function describeSchemaErrors(errors: readonly ErrorObject[]): SchemaProblem[] {
  const problems: SchemaProblem[] = [];
  const seen = new Set<string>();
  for (const error of errors) {
    const problem = describe(error);
    if (!problem) continue;
    const key = JSON.stringify(problem.path) + problem.message;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  // When a field has a specific complaint, drop the generic "must be X" ones that a union type adds
  // (in linear time: a file of 100,000 unknown keys has as many problems).
  const specific = new Set(problems.filter((p) => !p.message.startsWith('must be ')).map((p) => JSON.stringify(p.path)));
  return problems.filter((p) => !(p.message.startsWith('must be ') && specific.has(JSON.stringify(p.path))));
}

function pathOf(instancePath: string): (string | number)[] {
  if (!instancePath) return [];
  return instancePath
    .slice(1)
    .split('/')
    .map((s) => s.replaceAll('~1', '/').replaceAll('~0', '~'))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function shown(value: unknown): string {
  const text = JSON.stringify(value);
  return text === undefined ? String(value) : text.length > 60 ? text.slice(0, 57) + '...' : text;
}

function describe(error: ErrorObject): SchemaProblem | undefined {
  const path = pathOf(error.instancePath);
  const params = error.params as Record<string, unknown>;
  switch (error.keyword) {
    case 'if':
    case 'allOf':
      return undefined; // the branch's own errors say what is wrong
    case 'required':
      return { path: [...path, String(params.missingProperty)], message: 'is required', atKey: false };
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const known = Object.keys((error.parentSchema as { properties?: object } | undefined)?.properties ?? {});
      const guess = closest(name, known);
      const hint = guess ? `; did you mean "${guess}"?` : known.length ? `; known fields: ${known.join(', ')}` : '';
      return { path: [...path, name], message: `unknown field${hint}`, atKey: true };
    }
    case 'enum':
      return {
        path,
        message: `${shown(error.data)} is not one of ${(params.allowedValues as unknown[]).map((v) => shown(v)).join(', ')}`,
        atKey: false,
      };
    case 'const':
      return { path, message: `must be ${shown(params.allowedValue)}`, atKey: false };
    case 'type':
      return { path, message: `must be ${article(String(params.type))}, not ${shown(error.data)}`, atKey: false };
    case 'pattern': {
      if (error.schemaPath.includes('/duration/')) {
        return { path, message: `${shown(error.data)} is not a duration: use "500ms", "90s", "5m", "1h30m", "2d" or a number of seconds`, atKey: false };
      }
      if (error.schemaPath.includes('/size/')) {
        return { path, message: `${shown(error.data)} is not a size: use bytes or a number with a unit K, M, G, T (1024-based), as in "512M", "2G"`, atKey: false };
      }
      if (error.schemaPath.includes('/jobId/')) {
        return { path, message: `${shown(error.data)} is not a valid id: use 1-128 of a-z 0-9 . _ -, starting with a letter or digit`, atKey: false };
      }
      return { path, message: `${shown(error.data)} must match ${String(params.pattern)}`, atKey: false };
    }
    default:
      return { path, message: `${shown(error.data)}: ${error.message ?? 'is invalid'}`, atKey: false };
  }
}

function article(type: string): string {
  const names = type.split(',').map((t) => (t === 'object' ? 'a mapping' : t === 'array' ? 'a list' : /^[aeiou]/.test(t) ? `an ${t}` : `a ${t}`));
  return names.join(' or ');
}

/** The known name within edit distance 2 of `name`, if any. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  if (name.length > 40) return undefined; // no field name is that long, and the distance costs its length
  let best: string | undefined;
  let bestDistance = 3;
  for (const c of candidates) {
    const d = distance(name.toLowerCase(), c.toLowerCase());
    if (d < bestDistance) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = current;
    }
  }
  return row[b.length]!;
}

// ${VAR} interpolation in string values (never keys), done once at load.
//   ${VAR}            the variable; an error when it is not set
//   ${VAR:-default}   default when VAR is unset or empty (the default may hold ${...} itself)
//   ${VAR:?message}   an error with that message when VAR is unset or empty
//   ${VAR:+text}      text when VAR is set and not empty, else empty
//   ${file:/path}     the file's content without its trailing newline (relative to the job file)
//   $$                a literal $
// The agent's own JOBSD_* settings (its API token, database URL…) are not readable (src/files/agent-env.ts).

import { isHiddenFromJobFiles } from './agent-env.ts';

export interface InterpolationContext {
  env: Readonly<Record<string, string | undefined>>;
  /** Reads a `${file:...}` reference; throws with a readable message when it cannot. */
  readFile: (path: string) => string;
}

export interface InterpolationError {
  path: (string | number)[];
  message: string;
}

/** A string that interpolation changed: errors about it quote `source`, never `value`. */
export interface Substitution {
  path: (string | number)[];
  source: string;
  value: string;
}

const NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** A copy of `value` with every string interpolated, and the errors met on the way. */
export function interpolateValue(
  value: unknown,
  context: InterpolationContext,
  path: (string | number)[] = [],
  errors: InterpolationError[] = [],
): { value: unknown; errors: InterpolationError[]; substitutions: Substitution[] } {
  const substitutions: Substitution[] = [];
  const walk = (v: unknown, at: (string | number)[]): unknown => {
    if (typeof v === 'string') {
      const result = interpolateString(v, context);
      if (typeof result === 'string') {
        if (result !== v) substitutions.push({ path: at, source: v, value: result });
        return result;
      }
      errors.push({ path: at, message: result.error });
      return v;
    }
    if (Array.isArray(v)) return v.map((item, i) => walk(item, [...at, i]));
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {};
      for (const [k, item] of Object.entries(v)) out[k] = walk(item, [...at, k]);
      return out;
    }
    return v;
  };
  return { value: walk(value, path), errors, substitutions };
}

export function interpolateString(text: string, context: InterpolationContext): string | { error: string } {
  if (!text.includes('$')) return text;
  let out = '';
  let i = 0;
  while (i < text.length) {
    const c = text[i]!;
    if (c !== '$') {
      out += c;
      i++;
    } else if (text[i + 1] === '$') {
      out += '$';
      i += 2;
    } else if (text[i + 1] === '{') {
      const end = matchingBrace(text, i + 1);
      if (end < 0) return { error: `unterminated "\${" in "${text}" (write $$ for a literal $)` };
      const expanded = expand(text.slice(i + 2, end), context);
      if (typeof expanded !== 'string') return expanded;
      out += expanded;
      i = end + 1;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function matchingBrace(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; i++) {
    if (text[i] === '{') depth++;
    else if (text[i] === '}' && --depth === 0) return i;
  }
  return -1;
}

function expand(inner: string, context: InterpolationContext): string | { error: string } {
  if (inner.startsWith('file:')) {
    const path = inner.slice(5);
    try {
      return context.readFile(path).replace(/\r?\n$/, '');
    } catch (error) {
      return { error: `\${file:${path}}: ${(error as Error).message}` };
    }
  }
  const op = /^([^:]*)(?::([-?+])([\s\S]*))?$/.exec(inner);
  const name = op?.[1] ?? '';
  if (!NAME.test(name)) return { error: `"\${${inner}}" is not a variable reference: use \${NAME}, \${NAME:-default}, \${NAME:?message} or \${file:/path}` };
  // The agent's own settings read as unset: `:-` gives its default, `:+` nothing; a reference that needs the
  // value says why it cannot have it.
  const hidden = isHiddenFromJobFiles(name);
  const value = hidden ? undefined : context.env[name];
  const word = op?.[3] ?? '';
  const ownSetting = { error: `${name} is one of the agent's own settings, which job files cannot read: give the job the value in a variable of another name` };
  switch (op?.[2]) {
    case '-':
      return value ? value : interpolateString(word, context);
    case '?':
      if (hidden && context.env[name]) return ownSetting; // set, so "not set" would mislead
      return value ? value : { error: word ? `${name} is not set: ${word}` : `${name} is required and not set` };
    case '+':
      return value ? interpolateString(word, context) : '';
    default:
      if (hidden) return ownSetting;
      return value !== undefined ? value : { error: `${name} is not set (write \${${name}:-} to allow it to be empty)` };
  }
}

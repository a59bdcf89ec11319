// OmegaConf interpolation → job-file text. `${oc.env:VAR}` → `${VAR}`, `${oc.env:VAR,default}` →
// `${VAR:-default}`, the service's `${env_required:VAR,message}` → `${VAR:?message}`, and references
// (`${common.extractor.target_url}`, relative `${.sibling}`) resolved against the whole configuration.
// Every string that comes out is job-file text: literal parts are escaped (src/import/common.ts).

import { joinParts, literal, type Part } from './common.ts';
import { NOTE_CODES as C, type Notes } from './types.ts';

type Path = (string | number)[];

export class OmegaResolver {
  private readonly root: unknown;
  private readonly notes: Notes;
  private readonly where: string;
  private readonly active = new Set<string>();
  private usedEnvDefault = false;

  constructor(root: unknown, notes: Notes, where: string) {
    this.root = root;
    this.notes = notes;
    this.where = where;
  }

  /** The value at `path` of the configuration, resolved (strings as job-file text). */
  resolve(value: unknown, path: Path): unknown {
    if (typeof value === 'string') return this.string(value, path);
    if (Array.isArray(value)) return value.map((v, i) => this.resolve(v, [...path, i]));
    if (value !== null && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, this.resolve(v, [...path, k])]));
    }
    return value;
  }

  /** Whether an `${oc.env:VAR,default}` was met: its default applies when VAR is unset, jobsd's also when empty. */
  get envDefaults(): boolean {
    return this.usedEnvDefault;
  }

  private string(text: string, path: Path): unknown {
    const pieces = splitInterpolations(text);
    if (pieces.length === 1 && pieces[0]!.expr !== undefined && !pieces[0]!.expr.includes(':')) {
      const target = this.reference(pieces[0]!.expr, path);
      if (target.found && typeof target.value !== 'string') return target.value;
    }
    const parts: Part[] = [];
    for (const piece of pieces) {
      if (piece.expr === undefined) parts.push({ plain: piece.text });
      else parts.push(this.expression(piece.expr, path));
    }
    return joinParts(parts);
  }

  private expression(expr: string, path: Path): Part {
    const resolver = /^([A-Za-z_][\w.]*):(.*)$/s.exec(expr);
    if (resolver) {
      const [name, argText] = [resolver[1]!, resolver[2]!];
      const args = splitArgs(argText);
      const variable = args[0]?.trim() ?? '';
      if ((name === 'oc.env' || name === 'env_required') && /^[A-Za-z_][A-Za-z0-9_]*$/.test(variable)) {
        const rest = args.slice(1).join(',').trim();
        if (name === 'env_required') return { raw: rest ? `\${${variable}:?${this.inner(rest, path)}}` : `\${${variable}:?${variable} must be set}` };
        if (args.length === 1) return { raw: `\${${variable}}` };
        this.usedEnvDefault = true;
        return { raw: `\${${variable}:-${rest === 'null' ? '' : this.inner(rest, path)}}` };
      }
      this.notes.dropped(C.interpolation, `${this.where}: ${dotted(path)}`, `the resolver \${${expr}} has no counterpart; it is kept as literal text`);
      return { plain: `\${${expr}}` };
    }
    const target = this.reference(expr, path);
    if (!target.found) {
      this.notes.dropped(C.interpolation, `${this.where}: ${dotted(path)}`, `\${${expr}} refers to nothing in the configuration; kept as literal text`);
      return { plain: `\${${expr}}` };
    }
    const value = target.value;
    if (typeof value === 'string') return { raw: value };
    return { plain: typeof value === 'object' ? JSON.stringify(value) : String(value) };
  }

  /** A resolver argument: quotes removed, nested interpolations resolved, as job-file text. */
  private inner(text: string, path: Path): string {
    const unquoted = /^'(.*)'$|^"(.*)"$/s.exec(text);
    const raw = unquoted ? (unquoted[1] ?? unquoted[2])! : text;
    const resolved = this.string(raw, path);
    return typeof resolved === 'string' ? resolved : literal(String(resolved));
  }

  private reference(expr: string, from: Path): { found: boolean; value?: unknown } {
    const path = referencePath(expr.trim(), from);
    if (!path) return { found: false };
    const key = JSON.stringify(path);
    if (this.active.has(key)) {
      this.notes.dropped(C.interpolation, `${this.where}: ${dotted(from)}`, `\${${expr}} refers to itself`);
      return { found: false };
    }
    let node: unknown = this.root;
    for (const segment of path) {
      if (node === null || typeof node !== 'object' || !(segment in (node as object))) return { found: false };
      node = (node as Record<string | number, unknown>)[segment];
    }
    this.active.add(key);
    try {
      return { found: true, value: this.resolve(node, path) };
    } finally {
      this.active.delete(key);
    }
  }
}

/** `a.b[0].c` from the root, or `.x` / `..x` relative to the node that holds the string. */
function referencePath(expr: string, from: Path): Path | undefined {
  if (!/^\.*[\w-]+(?:(?:\.[\w-]+)|(?:\[\d+\]))*$/.test(expr)) return undefined;
  const dots = /^\.*/.exec(expr)![0].length;
  const segments: Path = expr
    .slice(dots)
    .replace(/\[(\d+)\]/g, '.$1')
    .split('.')
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
  if (dots === 0) return segments;
  const parent = from.slice(0, -1);
  return [...parent.slice(0, parent.length - (dots - 1)), ...segments];
}

type Piece = { text: string; expr?: string };

/** Literal text and `${...}` expressions (nested braces allowed); `\${` is a literal `${`. */
export function splitInterpolations(text: string): Piece[] {
  const pieces: Piece[] = [];
  let plain = '';
  for (let i = 0; i < text.length; i++) {
    if (text.startsWith('\\${', i)) {
      plain += '${';
      i += 2;
      continue;
    }
    if (text.startsWith('${', i)) {
      let depth = 0;
      let end = -1;
      for (let j = i + 1; j < text.length; j++) {
        if (text[j] === '{') depth++;
        else if (text[j] === '}' && --depth === 0) {
          end = j;
          break;
        }
      }
      if (end > 0) {
        if (plain) pieces.push({ text: plain });
        plain = '';
        pieces.push({ text: '', expr: text.slice(i + 2, end) });
        i = end;
        continue;
      }
    }
    plain += text[i]!;
  }
  if (plain || pieces.length === 0) pieces.push({ text: plain });
  return pieces;
}

/** Splits resolver arguments on commas outside quotes and `${...}`. */
function splitArgs(text: string): string[] {
  const out: string[] = [];
  let current = '';
  let depth = 0;
  let quote: string | null = null;
  for (const c of text) {
    if (quote) {
      if (c === quote) quote = null;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '{') depth++;
    else if (c === '}') depth--;
    else if (c === ',' && depth === 0) {
      out.push(current);
      current = '';
      continue;
    }
    current += c;
  }
  out.push(current);
  return out;
}

function dotted(path: Path): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : p)).join('.').replaceAll('.[', '[');
}

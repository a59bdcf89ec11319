// Writes docs/job-file.md, the job-file reference, from schemas/job.schema.json.
//   node scripts/schema-doc.ts          write the file
//   node scripts/schema-doc.ts --check  exit 1 when the file on disk is stale

import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { stringify } from 'yaml';

export interface SchemaNode {
  $id?: string;
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  title?: string;
  description?: string;
  default?: unknown;
  examples?: unknown[];
  properties?: Record<string, SchemaNode>;
  required?: string[];
  items?: SchemaNode;
  additionalProperties?: boolean | SchemaNode;
  if?: SchemaNode;
  then?: SchemaNode;
  else?: SchemaNode;
  allOf?: SchemaNode[];
  $defs?: Record<string, SchemaNode>;
}

/** Definitions shown as named value types rather than as sections of their own. */
const VALUE_TYPES = ['duration', 'size', 'jobId', 'stringMap', 'statusExpectation'];

interface Section {
  node: SchemaNode;
  title: string;
  /** The key the object sits under, for the example blocks; undefined for the job itself. */
  key: string | undefined;
  level: number;
  /** Task types that use this object, for objects inside a task. */
  usedBy: string[];
}

export function renderReference(schema: SchemaNode): string {
  const defs = schema.$defs ?? {};
  const deref = (node: SchemaNode): SchemaNode => {
    if (!node.$ref) return node;
    const name = node.$ref.replace(/^#\/\$defs\//, '');
    const def = defs[name];
    if (!def) throw new Error(`unresolved $ref ${node.$ref}`);
    return def;
  };
  /** The object with properties that a property leads to, if any (through $ref and `if object then $ref`). */
  const objectOf = (node: SchemaNode): SchemaNode | undefined => {
    const target = deref(node);
    if (target.properties) return target;
    if (target.then?.$ref && target.if?.type === 'object') return objectOf(target.then);
    return undefined;
  };

  // Sections, depth first in property order; a shared object (victoriametrics) gets one section.
  const sections: Section[] = [];
  const byNode = new Map<SchemaNode, Section>();
  const visit = (node: SchemaNode, title: string, key: string | undefined, level: number, taskType?: string): void => {
    const seen = byNode.get(node);
    if (seen) {
      if (taskType && !seen.usedBy.includes(taskType)) seen.usedBy.push(taskType);
      return;
    }
    const section: Section = { node, title, key, level, usedBy: taskType ? [taskType] : [] };
    sections.push(section);
    byNode.set(node, section);
    for (const [name, prop] of Object.entries(node.properties ?? {})) {
      const child = objectOf(prop);
      if (child) visit(child, child.title ?? prop.title ?? name, name, node === schema ? 2 : 3, taskType);
    }
    // The task: each `if type = X then $ref` branch is a section of its own.
    for (const branch of node.allOf ?? []) {
      const target = branch.then && objectOf(branch.then);
      const type = branch.if?.properties?.type?.const;
      if (!target || typeof type !== 'string') continue;
      const existing = byNode.get(target);
      if (existing) {
        existing.title = `${existing.title.replace(/ task$/, '')}, ${type} task`;
        existing.usedBy.push(type);
        continue;
      }
      visit(target, target.title ?? type, key, 2, type);
    }
  };
  visit(schema, 'Job', undefined, 2);

  const slug = (title: string): string =>
    title
      .toLowerCase()
      .replace(/[^a-z0-9 _-]/g, '')
      .replace(/ /g, '-');
  const link = (title: string): string => `[${title}](#${slug(title)})`;
  const code = (value: unknown): string => {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    return text.includes('`') ? `\`\` ${text} \`\`` : `\`${text}\``;
  };
  const cell = (text: string): string => text.replace(/\r?\n/g, ' ').replace(/\|/g, '\\|');

  const typeText = (node: SchemaNode): string => {
    if (node.$ref) {
      const name = node.$ref.replace(/^#\/\$defs\//, '');
      const def = deref(node);
      if (VALUE_TYPES.includes(name)) return link(def.title ?? name);
      const section = byNode.get(def);
      if (section) return link(section.title);
      return typeText(def);
    }
    if ('const' in node) return code(JSON.stringify(node.const));
    if (node.enum) return node.enum.map((v) => code(JSON.stringify(v))).join(', ');
    const section = byNode.get(node);
    if (section) return link(section.title);
    const types = node.type === undefined ? [] : Array.isArray(node.type) ? node.type : [node.type];
    if (types.length === 0) return 'any';
    const parts = types.map((t) => {
      if (t === 'object') {
        if (node.if?.type === 'object' && node.then) return typeText(node.then);
        if (typeof node.additionalProperties === 'object') return `map of ${typeText(node.additionalProperties)}`;
        return 'object';
      }
      if (t === 'array') {
        const items = node.items ?? (node.if?.type === 'array' ? node.then?.items : undefined);
        return items ? `list of ${typeText(items)}` : 'list';
      }
      if (node.else) return typeText(node.else);
      return t;
    });
    return [...new Set(parts)].join(' or ');
  };

  const yamlBlock = (value: unknown, key: string | undefined): string => {
    const doc = key === undefined ? value : { [key]: value };
    return ['```yaml', stringify(doc, { lineWidth: 0, version: '1.1' }).trimEnd(), '```'].join('\n');
  };

  const out: string[] = [];
  out.push('# Job file reference');
  out.push('');
  out.push('<!-- Generated by scripts/schema-doc.ts from schemas/job.schema.json; do not edit by hand. -->');
  out.push('');
  if (schema.description) out.push(schema.description, '');
  out.push(`Schema: \`${schema.$id ?? 'schemas/job.schema.json'}\` (JSON Schema 2020-12).`, '');
  out.push('Contents:', '');
  for (const s of sections) out.push(`${s.level > 2 ? '  ' : ''}- [${s.title}](#${slug(s.title)})`);
  out.push('- [Value types](#value-types)');
  out.push('- [What a job file can read, and what is refused](#what-a-job-file-can-read-and-what-is-refused)', '');

  for (const s of sections) {
    out.push(`${'#'.repeat(s.level)} ${s.title}`, '');
    if (s.node === schema) {
      out.push('The top level of a job file.', '');
    } else {
      const where = s.key ? `Under \`${s.key}\`${s.usedBy.length ? ` (${s.usedBy.map((t) => `\`${t}\``).join(', ')})` : ''}. ` : '';
      out.push(`${where}${s.node.description ?? ''}`.trim(), '');
    }
    if (s.title === 'Schedule object' && defs.schedule?.description) out.push(`\`schedule\` itself is ${lowerFirst(defs.schedule.description)}`, '');
    out.push('| Field | Type | Default | Description |');
    out.push('| --- | --- | --- | --- |');
    const required = new Set(s.node.properties && s.node.required ? s.node.required : []);
    for (const [name, prop] of Object.entries(s.node.properties ?? {})) {
      const dflt = required.has(name) ? '**required**' : 'default' in prop ? code(prop.default) : '—';
      const scalarExamples = (prop.examples ?? []).filter((e) => e === null || typeof e !== 'object');
      const examples = scalarExamples.length ? ` Examples: ${scalarExamples.map((e) => code(typeof e === 'string' ? e : JSON.stringify(e))).join(', ')}.` : '';
      const title = prop.title ? `**${prop.title}.** ` : '';
      out.push(`| \`${name}\` | ${cell(typeText(prop))} | ${cell(dflt)} | ${cell(title + (prop.description ?? '') + examples)} |`);
    }
    out.push('');
    const blocks = s.node.examples ?? [];
    if (blocks.length) {
      out.push(blocks.length > 1 ? 'Examples:' : 'Example:', '');
      for (const example of blocks) out.push(yamlBlock(example, s.key), '');
    }
  }

  out.push('## Value types', '');
  for (const name of VALUE_TYPES) {
    const def = defs[name];
    if (!def) continue;
    out.push(`### ${def.title ?? name}`, '');
    out.push(def.description ?? '', '');
    if (def.examples?.length) out.push(`Examples: ${def.examples.map((e) => code(typeof e === 'string' ? e : JSON.stringify(e))).join(', ')}.`, '');
  }
  out.push(...TRUST_AND_LIMITS);
  return out.join('\n').replace(/\n+$/, '\n');
}

/** What the loader enforces (src/files/, src/definitions/load.ts): not in the schema, so written here. */
const TRUST_AND_LIMITS = [
  '## What a job file can read, and what is refused',
  '',
  "A job file is code: its commands and requests run as the agent's user (often root). Whoever can write the jobs directory, its `_defaults` or the agent's database can run code as that user. See the README's \"Trust boundaries\".",
  '',
  "- **Who may write it.** As cron does, a jobs directory writable by others or owned by another user than the agent's or root loads nothing (one error naming the directory and the `chmod`/`chown` that fixes it), and a job file or `_defaults` writable by others or owned by another user is refused; symlinks are judged by their targets. `--allow-insecure-files` (`JOBSD_ALLOW_INSECURE_FILES=true`) turns the check off.",
  "- **`${VAR}`** reads the agent's environment, except the agent's own `JOBSD_*` settings (its API token, database and SMTP URLs…) other than `JOBSD_ENV`: they read as unset, so `${JOBSD_API_TOKEN}` and `${JOBSD_API_TOKEN:?…}` are located errors, `:-` gives the default and `:+` nothing. `DATABASE_URL` and `PG*` are readable, for a job that passes them on in `env:` (when the agent's own database comes from `DATABASE_URL`, a job file can read it). This keeps the settings out of definitions, and so out of logs, the API and the database; it is no wall against a job's author, whose command runs as the agent's user.",
  "- **`${file:PATH}`** reads any file the agent's user can read (a relative path is resolved against the job file's directory), up to the file-size limit below; as root that includes `/etc/shadow` and the data directory's `pg-password`. The value is a secret: replaced by `[redacted]` in logs, results, the API and the status page, and an error about it quotes `${file:…}`, never the value.",
  '- **Limits**, each a located error of that file alone, the other files unaffected: a file over 1 MiB is refused unread (`--max-file-size`, `JOBSD_MAX_FILE_SIZE`); more than 64 levels of nesting; more than 10,000 values; YAML aliases expanded more than 100 times (alias and merge-key bombs); an alias that refers to a value containing it; a key that is a list, a mapping, an alias or a tagged value (`!!binary`); a duplicate key; a NUL character in any string. At most 20 errors are reported per file, then "and N more". Control characters in file names, keys and values are escaped in `validate` and `status` output.',
  '',
];

function lowerFirst(text: string): string {
  return text.charAt(0).toLowerCase() + text.slice(1);
}

const SCHEMA_PATH = fileURLToPath(new URL('../schemas/job.schema.json', import.meta.url));
export const DOC_PATH = fileURLToPath(new URL('../docs/job-file.md', import.meta.url));

export function loadSchema(): SchemaNode {
  return JSON.parse(readFileSync(SCHEMA_PATH, 'utf8')) as SchemaNode;
}

if (import.meta.main) {
  const text = renderReference(loadSchema());
  if (process.argv.includes('--check')) {
    let current = '';
    try {
      current = readFileSync(DOC_PATH, 'utf8');
    } catch {
      // missing counts as stale
    }
    if (current !== text) {
      process.stderr.write('docs/job-file.md is stale: run `node scripts/schema-doc.ts`\n');
      process.exit(1);
    }
  } else {
    writeFileSync(DOC_PATH, text);
    process.stdout.write(`wrote ${DOC_PATH}\n`);
  }
}

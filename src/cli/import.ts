// jobsd import FORMAT [FILE|-] [--out DIR] [--dry-run] [--json] [--allow-partial] [--system]
// Converts a crontab, CronJob manifests, a systemd timer or an APScheduler/LogIngest config into job
// files; reports what could not be carried over exactly. Exit 1 when something was dropped.

import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { loadDocument } from '../definitions/load.ts';
import { formatFileError } from '../definitions/errors.ts';
import { parseText } from '../files/parse.ts';
import { FORMATS, isFormat, type FormatName } from '../import/formats.ts';
import { renderJob } from '../import/render.ts';
import type { ImportNote, ImportSource } from '../import/types.ts';
import { EXIT, parseCommandArgs, UsageError, type Command, type Io } from './command.ts';

const usage = `Usage: jobsd import FORMAT [FILE|-] [--out DIR] [--dry-run] [--json] [--allow-partial] [--system]

Converts another scheduler's jobs into job files, one per job. FORMAT is one of:
  crontab      a user crontab, or /etc/crontab and /etc/cron.d files (user column; also --system)
  cronjob      Kubernetes CronJob manifests: one, several documents, or a List
  systemd      a .timer with its .service (found next to it), or \`systemctl cat\` output of both
  apscheduler  the VictoriaMetrics jobs service's config (jobs:, environments:), or LogIngest's config.yaml
FILE is read from standard input when it is - or absent.
  --out DIR        write DIR/<id>.yaml (existing files are not overwritten); default: print the files
  --dry-run        convert and report, write nothing
  --json           print {jobs, notes} as JSON on stdout (with each file's text)
  --allow-partial  exit 0 even when something was dropped
  --system         crontab: the lines have a user column (default for /etc/crontab and /etc/cron.d/*)
What could not be carried over exactly is reported on stderr: "dropped" (left out) or "changed" (carried
over with a difference). See docs/import.md.
Exit status: 0 imported, 1 something was dropped (or a file could not be written), 2 usage error.`;

export const importCommand: Command = {
  name: 'import',
  summary: 'convert a crontab, CronJob, systemd timer or APScheduler config into job files',
  usage,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      out: { type: 'string' },
      'dry-run': { type: 'boolean' },
      json: { type: 'boolean' },
      'allow-partial': { type: 'boolean' },
      system: { type: 'boolean' },
    });
    const [format, file = '-', ...more] = positionals;
    if (format === undefined) throw new UsageError('name a FORMAT: crontab, cronjob, systemd or apscheduler');
    if (!isFormat(format)) throw new UsageError(`unknown FORMAT "${format}": use crontab, cronjob, systemd or apscheduler`);
    if (more.length) throw new UsageError(`one FILE at a time (got ${positionals.length - 1})`);
    const source = readSource(format, file);
    const system = values.system === true || /^\/etc\/(crontab$|cron\.d\/)/.test(path.resolve(file));
    const result = FORMATS[format](source, { system });
    const files = result.jobs.map((job) => ({ id: job.id, name: `${job.id}.yaml`, text: renderJob(job, format) }));
    const notes = [...result.notes];
    for (const f of files) {
      const problem = checkFile(f.name, f.text);
      if (problem) notes.push({ kind: 'dropped', code: 'JOBSD_I_INVALID', where: f.name, job: f.id, message: `the converted file does not validate, fix it by hand: ${problem}` });
    }
    const written: string[] = [];
    if (values.out !== undefined && !values['dry-run']) {
      mkdirSync(values.out, { recursive: true });
      for (const f of files) {
        const target = path.join(values.out, f.name);
        if (existsSync(target)) {
          notes.push({ kind: 'dropped', code: 'JOBSD_I_EXISTS', where: target, job: f.id, message: 'not written: the file exists (move it away, or import into another --out directory)' });
          continue;
        }
        const temp = path.join(values.out, `.${f.name}.${process.pid}.tmp`);
        writeFileSync(temp, f.text, { mode: 0o644 });
        renameSync(temp, target);
        written.push(target);
      }
    }
    const dropped = notes.filter((n) => n.kind === 'dropped').length;
    if (values.json) {
      io.stdout(JSON.stringify({ ok: dropped === 0, jobs: files.map((f) => ({ ...f, written: written.includes(path.join(values.out ?? '', f.name)) })), notes }, null, 2) + '\n');
    } else {
      if (values.out === undefined && !values['dry-run']) io.stdout(files.map((f) => `# ${f.name}\n${f.text}`).join('---\n'));
      if (values['dry-run']) for (const f of files) io.stdout(`would write ${path.join(values.out ?? '.', f.name)}\n`);
      report(notes, files.length, written.length, io);
    }
    return dropped > 0 && !values['allow-partial'] ? EXIT.failed : EXIT.ok;
  },
};

function readSource(format: FormatName, file: string): ImportSource {
  const read = (p: string | number) => {
    try {
      return readFileSync(p, 'utf8');
    } catch (error) {
      throw new UsageError(`cannot read ${p === 0 ? 'standard input' : p}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`, { withUsage: false });
    }
  };
  if (file === '-') return { text: read(0), name: '-' };
  const text = read(file);
  const source: ImportSource = { text, name: file };
  if (format === 'systemd') {
    // The timer's service, next to it: Unit= or the same name with .service.
    const dir = path.dirname(file);
    const unit = /^\s*Unit\s*=\s*(\S+)\s*$/m.exec(text)?.[1] ?? path.basename(file).replace(/\.timer$/, '.service');
    const siblings: Record<string, string> = {};
    if (readdirSync(dir).includes(unit)) siblings[unit] = read(path.join(dir, unit));
    source.siblings = siblings;
    source.name = path.basename(file);
  }
  return source;
}

function report(notes: ImportNote[], converted: number, written: number, io: Io): void {
  for (const n of notes) io.stderr(`${n.kind === 'dropped' ? 'dropped' : 'changed'}: ${n.where}${n.job ? ` [${n.job}]` : ''}: ${n.message}\n`);
  const dropped = notes.filter((n) => n.kind === 'dropped').length;
  io.stderr(
    `${converted} job${converted === 1 ? '' : 's'} converted${written ? `, ${written} written` : ''}; ${dropped} dropped, ${notes.length - dropped} changed` +
      (dropped ? ' (exit 1 unless --allow-partial)' : '') +
      '\n',
  );
}

/**
 * Validates a converted file as the agent would, with every `${VAR}` set (the variables are the agent's
 * business, not the converter's): the first error, or undefined.
 */
function checkFile(name: string, text: string): string | undefined {
  const doc = parseText(text, 'yaml', name);
  if ('code' in doc) return formatFileError(doc);
  const env = new Proxy({} as Record<string, string>, { get: (_, key) => (typeof key === 'string' ? 'set' : undefined) });
  const result = loadDocument(name, doc, undefined, { env, defaultTimezone: 'UTC' });
  if (result.ok) return undefined;
  const errors = result.errors.filter((e) => e.code !== 'JOBSD_E_INTERPOLATE');
  return errors.length ? formatFileError(errors[0]!) : undefined;
}

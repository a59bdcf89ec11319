// jobsd validate [PATH...]: exit 0 when every file is valid, 1 otherwise; one PATH:LINE:COL line per error.

import { statSync } from 'node:fs';
import { claimIds, loadDirectory, loadFileWithDefaults, type FileOutcome } from '../definitions/directory.ts';
import { formatFileError, type FileError } from '../definitions/errors.ts';
import { escapeControl } from '../files/limits.ts';
import { EXIT, parseCommandArgs, type Command, type Io } from './command.ts';
import { FILE_FLAGS, jobsDir, loadOptions } from './settings.ts';

const usage = `Usage: jobsd validate [PATH...] [--env NAME] [--json] [--allow-insecure-files] [--max-file-size SIZE]

Checks job files, or every job file of the directories named (default: $JOBSD_JOBS_DIR, else ./jobs.d),
with the directory's _defaults file and the environment overlay of --env / $JOBSD_ENV.
Prints one PATH:LINE:COL: FIELD: message line per error.
Exit status: 0 all valid, 1 some file is invalid, 2 usage error.`;

export const validateCommand: Command = {
  name: 'validate',
  summary: 'check job files and report every error with its line',
  usage,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      ...FILE_FLAGS,
      json: { type: 'boolean' },
    });
    const options = loadOptions(values, io);
    const targets = positionals.length ? positionals : [jobsDir(undefined, io)];
    const outcomes: FileOutcome[] = [];
    const otherErrors: FileError[] = [];
    const singles: string[] = [];
    for (const target of targets) {
      if (isDirectory(target)) {
        const loaded = loadDirectory(target, options);
        outcomes.push(...loaded.outcomes);
        otherErrors.push(...loaded.errors.filter((e) => !loaded.outcomes.some((o) => o.file === e.file)));
      } else singles.push(target);
    }
    outcomes.push(...claimIds(singles.map((file) => ({ file, result: loadFileWithDefaults(file, options) }))));
    return report(outcomes, otherErrors, values.json === true, io);
  },
};

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function report(outcomes: FileOutcome[], otherErrors: FileError[], json: boolean, io: Io): number {
  const all = [...otherErrors, ...outcomes.flatMap((o) => (o.result.ok ? [] : o.result.errors))];
  const texts = new Set<string>();
  const errors = all.filter((e) => !texts.has(formatFileError(e)) && texts.add(formatFileError(e)));
  const valid = outcomes.filter((o) => o.result.ok).length;
  if (json) {
    const files = outcomes.map((o) =>
      o.result.ok ? { file: o.file, ok: true, id: o.result.definition.id } : { file: o.file, ok: false, errors: o.result.errors.map(toJson) },
    );
    io.stdout(JSON.stringify({ ok: errors.length === 0, files, errors: otherErrors.map(toJson) }, null, 2) + '\n');
  } else {
    for (const e of errors) io.stdout(escapeControl(formatFileError(e)) + '\n'); // a file name or key may hold ESC or newlines
    const invalid = outcomes.length - valid;
    io.stderr(`${valid} valid job file${valid === 1 ? '' : 's'}, ${invalid} invalid${otherErrors.length ? `, ${otherErrors.length} other error${otherErrors.length === 1 ? '' : 's'}` : ''}\n`);
  }
  return errors.length === 0 ? EXIT.ok : EXIT.failed;
}

function toJson(e: FileError) {
  return { ...e, text: formatFileError(e) };
}

// crontab → job files: user crontabs, and /etc/crontab or /etc/cron.d files (with the user column).
// Follows cronie/Vixie cron: `NAME=value` lines set the environment of the entries after them; CRON_TZ
// sets their time zone, MAILTO where their output is mailed, SHELL the shell; an unescaped `%` ends the
// command and starts its standard input (further `%` are newlines, `\%` is a literal `%`).

import { parseCron } from '../definitions/cron.ts';
import { IdPool, literal, looksLikeEmail, shellQuote, slugId } from './common.ts';
import { NOTE_CODES as C, Notes, type ImportedJob, type ImportResult, type ImportSource } from './types.ts';

export interface CrontabOptions {
  /** /etc/crontab and /etc/cron.d files: a user name follows the five time fields. */
  system: boolean;
}

const ASSIGNMENT = /^(?:"([^"]+)"|'([^']+)'|([A-Za-z_][A-Za-z0-9_]*))\s*=\s*(.*)$/;
const ENTRY = /^(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(\S+)\s+(.*)$/;
const MACRO = /^(@\w+)\s+(.*)$/;
/** Comment lines that are column headers or ASCII art, not a description. */
const NOT_PROSE = /[|]|-{3,}|example of job definition|\bm\s+h\s+dom\b|user-name\s+command|^[\s*.]*$/i;
/** Words skipped when naming a job after its command. */
const NOT_A_NAME = new Set(['cd', 'test', '[', '!', '{', '}', '(', ')', '&&', '||', ';', 'exec', 'sudo', 'nice', 'ionice', 'env', 'nohup', 'timeout', 'flock', 'sh', 'bash', '-c', 'if', 'then', 'run-parts', 'chronic', 'cronic']);

export function importCrontab(source: ImportSource, options: CrontabOptions): ImportResult {
  const notes = new Notes();
  const jobs: ImportedJob[] = [];
  const ids = new IdPool();
  const env: Record<string, string> = {};
  let zone: string | undefined;
  let mailto: string | undefined;
  let mailfrom: string | undefined;
  let shell: string | undefined;
  let comments: string[] = [];
  let withoutZone = 0;
  let mailed = 0;
  let unmailed = 0;
  const lines = source.text.split(/\r?\n/);
  for (const [index, raw] of lines.entries()) {
    const where = `${source.name}:${index + 1}`;
    const line = raw.trim();
    if (line === '') {
      comments = [];
      continue;
    }
    if (line.startsWith('#')) {
      const text = line.replace(/^#+\s?/, '').trim();
      if (!NOT_PROSE.test(text) && !looksLikeEntry(text, options.system)) comments.push(text);
      continue;
    }
    const assignment = ASSIGNMENT.exec(line);
    if (assignment && !/^[\d*@]/.test(line)) {
      const name = (assignment[1] ?? assignment[2] ?? assignment[3])!;
      const value = unquote(assignment[4]!.trim());
      if (name === 'CRON_TZ') zone = value === '' ? undefined : value;
      else if (name === 'MAILTO') mailto = value;
      else if (name === 'MAILFROM') mailfrom = value;
      else {
        if (name === 'SHELL') shell = value;
        env[name] = value;
      }
      comments = [];
      continue;
    }
    const entry = parseEntry(line, options.system);
    if ('error' in entry) {
      notes.dropped(C.unparsed, where, `line not imported: ${entry.error}`);
      comments = [];
      continue;
    }
    const { command, stdin } = splitPercent(entry.command);
    const id = ids.claim(idFor(command, index + 1));
    const job: Record<string, unknown> = { id };
    const description = comments.join(' ');
    if (description) job.description = description;
    comments = [];
    if (entry.reboot) {
      job.schedule = '@once';
      job.idempotency_key = 'v1';
      notes.changed(C.reboot, where, '@reboot became @once: it runs once ever (per idempotency_key), when the job is first loaded, not at every boot', id);
    } else if (zone !== undefined) {
      job.schedule = { cron: entry.schedule, timezone: zone };
    } else {
      job.schedule = entry.schedule;
      withoutZone++;
    }
    // cron starts a new run at every fire, running or not.
    job.overlap = 'allow';
    job.task = commandTask(command, stdin, shell, env, id, where, notes);
    if (entry.user !== undefined) {
      notes.dropped(C.user, where, `runs as the agent's user, not as "${entry.user}" (jobsd has no per-job user)`, id);
    }
    const to = (mailto ?? '').split(/[\s,]+/).filter(Boolean);
    if (mailto === undefined) unmailed++;
    else if (to.length > 0) {
      const bad = to.filter((a) => !looksLikeEmail(a));
      if (bad.length) notes.dropped(C.mail, where, `MAILTO ${bad.join(', ')}: local user names are not mailed; use full addresses`, id);
      const good = to.filter(looksLikeEmail);
      if (good.length) {
        job.notify = { email: { to: good, ...(mailfrom && looksLikeEmail(mailfrom) ? { from: mailfrom } : {}) } };
        mailed++;
      }
    }
    jobs.push({ id, job, where });
  }
  const file = source.name;
  if (mailed > 0) {
    notes.changed(C.mail, file, `MAILTO became an email notification on failure and recovery: cron mailed whenever a command wrote output, whatever its exit status (add "success" to notify.on to mail every run)`);
  }
  if (unmailed > 0) {
    notes.changed(C.mail, file, `no MAILTO: cron mailed the output of ${unmailed} entr${unmailed === 1 ? 'y' : 'ies'} to the crontab's owner; jobsd logs it and keeps its tail in the run's result`);
  }
  if (env.TZ !== undefined && zone === undefined) {
    notes.changed(C.timezone, file, `TZ=${env.TZ} is put in the commands' environment only: cron (cronie) reads schedules in CRON_TZ or the system's zone; if yours read TZ= for the schedule, set schedule.timezone: ${env.TZ}`);
  }
  if (withoutZone > 0) {
    notes.changed(C.timezone, file, `no CRON_TZ: ${withoutZone} schedule${withoutZone === 1 ? ' is' : 's are'} evaluated in the agent's JOBSD_TIMEZONE (default UTC); cron used the system's local time zone`);
  }
  if (jobs.length > 0) {
    notes.changed(C.command, file, `commands run in the job file's directory with the agent's environment${env.HOME ? '' : ' (cron ran them in the home directory of the crontab\'s owner)'}, and at most one hour each (timeout: 1h), where cron set no limit`);
  }
  return { jobs, notes: notes.list };
}

type Entry = { schedule: string; user?: string; command: string; reboot: boolean };

function parseEntry(line: string, system: boolean): Entry | { error: string } {
  const macro = MACRO.exec(line);
  let schedule: string;
  let rest: string;
  let reboot = false;
  if (macro) {
    const name = macro[1]!.toLowerCase();
    rest = macro[2]!;
    if (name === '@reboot') {
      reboot = true;
      schedule = '@once';
    } else {
      const parsed = parseCron(name);
      if ('error' in parsed) return { error: parsed.error };
      schedule = name;
    }
  } else {
    const fields = ENTRY.exec(line);
    if (!fields) return { error: `"${line}" is neither a NAME=value line nor five time fields and a command` };
    schedule = fields.slice(1, 6).join(' ');
    rest = fields[6]!;
    const parsed = parseCron(schedule);
    if ('error' in parsed) return { error: parsed.error };
  }
  if (system) {
    const m = /^(\S+)\s+(.*)$/.exec(rest);
    if (!m) return { error: `"${line}": a system crontab line needs a user name and a command` };
    return { schedule, user: m[1]!, command: m[2]!, reboot };
  }
  if (rest.trim() === '') return { error: `"${line}" has no command` };
  return { schedule, command: rest, reboot };
}

function looksLikeEntry(text: string, system: boolean): boolean {
  return !('error' in parseEntry(text, system));
}

/** cronie's `%` rule: the command up to the first unescaped `%`, and the standard input after it. */
export function splitPercent(text: string): { command: string; stdin?: string } {
  let command = '';
  let i = 0;
  for (; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && text[i + 1] === '%') {
      command += '%';
      i++;
    } else if (c === '%') break;
    else command += c;
  }
  if (i >= text.length) return { command: command.trim() };
  let stdin = '';
  for (i++; i < text.length; i++) {
    const c = text[i]!;
    if (c === '\\' && text[i + 1] === '%') {
      stdin += '%';
      i++;
    } else stdin += c === '%' ? '\n' : c;
  }
  return { command: command.trim(), stdin };
}

function commandTask(
  command: string,
  stdin: string | undefined,
  shell: string | undefined,
  env: Record<string, string>,
  id: string,
  where: string,
  notes: Notes,
): Record<string, unknown> {
  let script = command;
  if (stdin !== undefined) {
    // jobsd's command task has no standard input of its own: the text is piped in by the shell.
    script = `printf '%s' ${shellQuote(stdin)} | {\n${command}\n}`;
    notes.changed(C.command, where, 'the text after % (standard input) is piped in with printf by the shell', id);
  }
  const task: Record<string, unknown> = { type: 'command' };
  task.command = shell !== undefined && shell !== '/bin/sh' ? [literal(shell), '-c', literal(script)] : literal(script);
  if (Object.keys(env).length) task.env = Object.fromEntries(Object.entries(env).map(([k, v]) => [k, literal(v)]));
  if (env.HOME) task.cwd = literal(env.HOME);
  return task;
}

function unquote(value: string): string {
  const m = /^"(.*)"$|^'(.*)'$/.exec(value);
  return m ? (m[1] ?? m[2])! : value;
}

/** A job id after the command: the script of run-parts, else the first word that names a program. */
function idFor(command: string, line: number): string {
  const runParts = /run-parts\b[^|;&]*?\s(\/\S+)/.exec(command);
  if (runParts) return slugId(runParts[1]!.replace(/\/+$/, '').split('/').pop()!, `cron-line-${line}`);
  let afterCd = false;
  for (const word of command.split(/[\s;&|(){}]+/)) {
    const skip = afterCd;
    afterCd = word === 'cd';
    if (skip || word === '' || NOT_A_NAME.has(word) || word.startsWith('-') || word.includes('=') || word.startsWith('$')) continue;
    const base = word.replace(/\/+$/, '').split('/').pop()!.replace(/\.(sh|py|pl|rb|php|js|bash)$/, '');
    if (base === '' || base === '.' || /^\d+$/.test(base)) continue;
    return slugId(base, `cron-line-${line}`);
  }
  return `cron-line-${line}`;
}

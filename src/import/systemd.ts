// systemd timers (with their services) → job files. OnCalendar= becomes cron where it can be written
// exactly (several lines merged into one expression when they differ in one field, else one job each);
// OnUnitActiveSec=/OnBootSec= become `every`/`@once`; ExecStart=, Environment= and WorkingDirectory= the
// command task. What has no counterpart (User=, AccuracySec=, sandboxing …) is named in the report.

import { calendarToCron, mergeCalendars, type CalendarCron } from './systemd-calendar.ts';
import { lastValue, parseEnvironment, parseUnit, splitCommandLine, values, type Unit, type Word } from './systemd-unit.ts';
import { duration, IdPool, joinParts, shellQuote, slugId, type Part } from './common.ts';
import { NOTE_CODES as C, Notes, type ImportedJob, type ImportResult, type ImportSource } from './types.ts';

const TIMER_CARRIED = new Set(['OnCalendar', 'OnUnitActiveSec', 'OnUnitInactiveSec', 'OnBootSec', 'OnStartupSec', 'OnActiveSec', 'RandomizedDelaySec', 'Persistent', 'Unit', 'AccuracySec', 'FixedRandomDelay']);
const SERVICE_CARRIED = new Set(['ExecStart', 'ExecStartPre', 'ExecStartPost', 'Environment', 'EnvironmentFile', 'WorkingDirectory', 'Type', 'TimeoutStartSec', 'TimeoutSec', 'RuntimeMaxSec', 'SuccessExitStatus', 'RemainAfterExit']);

/** Time spans (systemd.time(7)) in milliseconds; bare numbers are seconds. */
const SPAN_MS: [RegExp, number][] = [
  [/^(us|usec|µs)$/, 0.001], [/^(ms|msec)$/, 1], [/^(s|sec|second|seconds)$/, 1000], [/^(m|min|minute|minutes)$/, 60_000],
  [/^(h|hr|hour|hours)$/, 3_600_000], [/^(d|day|days)$/, 86_400_000], [/^(w|week|weeks)$/, 604_800_000],
  [/^(M|month|months)$/, 2_629_800_000], [/^(y|year|years)$/, 31_557_600_000],
];

export function parseTimeSpan(text: string): number | undefined {
  const t = text.trim();
  if (t === 'infinity') return Infinity;
  if (/^\d+(\.\d+)?$/.test(t)) return Number(t) * 1000;
  let total = 0;
  const re = /(\d+(?:\.\d+)?)\s*([a-zµA-Z]+)\s*/y;
  let m: RegExpExecArray | null;
  let at = 0;
  while (at < t.length && (m = re.exec(t)) && m.index === at) {
    const unit = SPAN_MS.find(([pattern]) => pattern.test(m![2]!));
    if (!unit) return undefined;
    total += Number(m[1]) * unit[1];
    at = re.lastIndex;
  }
  return at === t.length && t.length > 0 ? total : undefined;
}

/** Splits `systemctl cat` output (`# /etc/systemd/system/x.timer` headers) into files by base name. */
export function splitUnitFiles(text: string, fallbackName: string): Record<string, string> {
  const files: Record<string, string> = {};
  let current: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const header = /^# (\/\S+\/([^/\s]+\.(?:timer|service)))$/.exec(line);
    if (header) {
      current = header[2]!;
      files[current] = files[current] ?? '';
      continue;
    }
    if (current === undefined) current = fallbackName;
    files[current] = (files[current] ?? '') + line + '\n';
  }
  return files;
}

export function importSystemd(source: ImportSource, isZone: (name: string) => boolean): ImportResult {
  const notes = new Notes();
  const jobs: ImportedJob[] = [];
  const ids = new IdPool();
  const base = source.name === '-' ? 'stdin.timer' : source.name.split('/').pop()!;
  const files = { ...source.siblings, ...splitUnitFiles(source.text, base.endsWith('.timer') ? base : `${base}.timer`) };
  const timers = Object.keys(files).filter((n) => n.endsWith('.timer'));
  if (timers.length === 0) notes.dropped(C.unparsed, source.name, 'no .timer unit found');
  for (const name of timers) {
    const timer = parseUnit(files[name]!);
    const unitName = lastValue(timer, 'Timer', 'Unit') ?? name.replace(/\.timer$/, '.service');
    const serviceText = files[unitName];
    if (serviceText === undefined) {
      notes.dropped(C.command, name, `not imported: its service ${unitName} was not found (put it next to the timer, or pipe in \`systemctl cat ${name} ${unitName}\`)`);
      continue;
    }
    jobs.push(...convert(name, timer, unitName, parseUnit(serviceText), ids, notes, isZone));
  }
  return { jobs, notes: notes.list };
}

function convert(name: string, timer: Unit, serviceName: string, service: Unit, ids: IdPool, notes: Notes, isZone: (n: string) => boolean): ImportedJob[] {
  const stem = name.replace(/\.timer$/, '');
  const where = name;
  const id0 = slugId(stem, 'timer');
  const schedules = schedulesOf(timer, where, id0, notes, isZone);
  if (schedules.length === 0) {
    notes.dropped(C.schedule, where, 'not imported: no OnCalendar=, OnUnitActiveSec= or OnBootSec= that jobsd can express', id0);
    return [];
  }
  const common: Record<string, unknown> = {};
  const description = lastValue(service, 'Unit', 'Description') ?? lastValue(timer, 'Unit', 'Description');
  if (description) common.description = description;
  common.overlap = 'skip'; // systemd does not start a unit that is still active
  const extra: Record<string, unknown> = {};
  const jitter = lastValue(timer, 'Timer', 'RandomizedDelaySec');
  if (jitter !== undefined) {
    const ms = parseTimeSpan(jitter);
    if (ms !== undefined && ms > 0 && Number.isFinite(ms)) extra.jitter = duration(ms);
    else if (ms === undefined) notes.dropped(C.setting, `${where}: RandomizedDelaySec=`, `"${jitter}" is not a time span`, id0);
  }
  const persistent = lastValue(timer, 'Timer', 'Persistent');
  if (persistent !== undefined && /^(1|yes|true|on)$/i.test(persistent)) {
    extra.catchup = 'latest';
    notes.changed(C.catchup, `${where}: Persistent=`, 'Persistent=true became catchup: latest, which looks back one hour (catchup_window: 1h); systemd caught up however long the timer was off', id0);
  }
  const accuracy = lastValue(timer, 'Timer', 'AccuracySec');
  notes.changed(C.setting, `${where}: AccuracySec=`, `systemd coalesces elapses within AccuracySec= (${accuracy ?? 'default 1min'}); jobsd fires within about a second of the time`, id0);
  for (const e of timer.get('Timer') ?? []) {
    if (!TIMER_CARRIED.has(e.key)) notes.dropped(C.setting, `${where}:${e.line}`, `${e.key}= is not imported`, id0);
  }
  const task = taskOf(serviceName, service, notes, id0, common);
  if (!task) return [];
  if (schedules.length > 1) {
    notes.changed(C.split, where, `its OnCalendar= lines cannot be written as one cron expression: ${schedules.length} jobs (${id0}, ${id0}-2 …), whose runs may overlap each other`, id0);
  }
  return schedules.map((schedule) => {
    const id = ids.claim(id0);
    const once = schedule === '@once';
    const final = once ? (Object.keys(extra).length ? { once: true, ...extra } : '@once') : { ...(schedule as Record<string, unknown>), ...extra };
    const job: Record<string, unknown> = { id, ...common, schedule: final, task };
    if (once) job.idempotency_key = 'v1';
    return { id, job, where };
  });
}

type Schedule = string | Record<string, unknown>;

function schedulesOf(timer: Unit, where: string, id: string, notes: Notes, isZone: (n: string) => boolean): Schedule[] {
  const calendars: CalendarCron[] = [];
  for (const e of values(timer, 'Timer', 'OnCalendar')) {
    const parsed = calendarToCron(e.value, isZone);
    if ('error' in parsed) notes.dropped(C.schedule, `${where}:${e.line}`, `OnCalendar=${e.value} not imported: ${parsed.error}`, id);
    else calendars.push(parsed);
  }
  const monotonic = (key: string) => values(timer, 'Timer', key).at(-1);
  const active = monotonic('OnUnitActiveSec') ?? monotonic('OnUnitInactiveSec');
  const boot = monotonic('OnBootSec') ?? monotonic('OnStartupSec') ?? monotonic('OnActiveSec');
  if (calendars.length > 0) {
    for (const e of [active, boot]) if (e) notes.dropped(C.schedule, `${where}:${e.line}`, `${e.key}= is not imported alongside OnCalendar=`, id);
    const zones = new Set(calendars.map((c) => c.timezone));
    if (zones.has(undefined)) {
      notes.changed(C.timezone, where, "OnCalendar= without a time zone: evaluated in the agent's JOBSD_TIMEZONE (default UTC); systemd used the system's local time zone", id);
    }
    if ([...zones].some((z) => z !== 'UTC' && z !== 'Etc/UTC')) {
      notes.changed(C.timezone, where, 'around daylight-saving changes jobsd follows cron: a fixed time in the spring-forward gap fires at the end of the gap (systemd skips it that day), and a */step minute or hour fires in both passes of the repeated hour (systemd only in the first)', id);
    }
    const merged = mergeCalendars(calendars);
    const list = merged ? [merged] : calendars;
    return list.map((c) => {
      const cron = c.fields[0] === '0' ? c.fields.slice(1).join(' ') : c.fields.join(' ');
      return { cron, ...(c.daysMatch ? { days_match: c.daysMatch } : {}), ...(c.timezone ? { timezone: c.timezone } : {}), ...(c.start_at ? { start_at: c.start_at, end_at: c.end_at } : {}) };
    });
  }
  if (calendars.length === 0 && values(timer, 'Timer', 'OnCalendar').length > 0) return [];
  if (active) {
    const ms = parseTimeSpan(active.value);
    if (ms === undefined || !(ms > 0) || !Number.isFinite(ms)) {
      notes.dropped(C.schedule, `${where}:${active.line}`, `${active.key}=${active.value} is not a time span`, id);
      return [];
    }
    notes.changed(C.schedule, `${where}:${active.line}`, `${active.key}= became every ${duration(ms)}: jobsd aligns the fires to the Unix epoch, systemd counted from the unit's last ${active.key === 'OnUnitActiveSec' ? 'start' : 'stop'}`, id);
    if (boot) notes.dropped(C.schedule, `${where}:${boot.line}`, `${boot.key}=${boot.value}: the first fire after boot is not imported; fires follow the interval`, id);
    return [{ every: duration(ms) }];
  }
  if (boot) {
    notes.changed(C.reboot, `${where}:${boot.line}`, `${boot.key}= alone became @once: it runs once ever (per idempotency_key), when first loaded, not at every boot, and without the ${boot.value} delay`, id);
    return ['@once'];
  }
  return [];
}

function taskOf(name: string, service: Unit, notes: Notes, id: string, job: Record<string, unknown>): Record<string, unknown> | undefined {
  const env = new Map<string, string>();
  for (const e of values(service, 'Service', 'Environment')) for (const [k, v] of parseEnvironment(e.value)) env.set(k, v);
  for (const e of values(service, 'Service', 'EnvironmentFile')) {
    notes.dropped(C.setting, `${name}:${e.line}`, `EnvironmentFile=${e.value} is not read: put its variables in the agent's environment (the command reads them as \${VAR})`, id);
  }
  const lines = [
    ...values(service, 'Service', 'ExecStartPre'),
    ...values(service, 'Service', 'ExecStart'),
    ...values(service, 'Service', 'ExecStartPost'),
  ];
  if (values(service, 'Service', 'ExecStart').length === 0) {
    notes.dropped(C.command, name, 'not imported: the service has no ExecStart=', id);
    return undefined;
  }
  const commands = lines.map((e) => execLine(e.value, env, name, e.line, notes, id));
  const task: Record<string, unknown> = { type: 'command' };
  if (commands.length === 1 && !commands[0]!.ignoreFailure) task.command = commands[0]!.argv;
  else if (commands.length === 1) {
    task.command = commands[0]!.argv;
    task.success_exit_codes = Array.from({ length: 256 }, (_, i) => i);
    notes.changed(C.command, name, 'ExecStart=- (failure ignored): every exit code counts as success; death by a signal still fails', id);
  } else {
    task.command = commands.map((c) => (c.ignoreFailure ? `{ ${c.shell}; } || true` : c.shell)).join(' &&\n');
    notes.changed(C.command, name, `${commands.length} ExecStartPre=/ExecStart=/ExecStartPost= lines run as one /bin/sh script, each after the previous one succeeded`, id);
  }
  if (env.size) task.env = Object.fromEntries([...env].map(([k, v]) => [k, joinParts([{ plain: v }])]));
  const cwd = lastValue(service, 'Service', 'WorkingDirectory');
  if (cwd !== undefined) {
    const dir = cwd.replace(/^-/, '');
    if (dir.startsWith('/')) task.cwd = joinParts([{ plain: dir }]);
    else notes.dropped(C.setting, name, `WorkingDirectory=${cwd} is not imported (only absolute paths are)`, id);
  } else notes.changed(C.command, name, "no WorkingDirectory=: systemd ran the command in /, jobsd runs it in the job file's directory", id);
  const timeout = lastValue(service, 'Service', 'RuntimeMaxSec') ?? lastValue(service, 'Service', 'TimeoutStartSec') ?? lastValue(service, 'Service', 'TimeoutSec');
  const ms = timeout === undefined ? undefined : parseTimeSpan(timeout);
  if (ms !== undefined && Number.isFinite(ms) && ms > 0) job.timeout = duration(ms);
  else notes.changed(C.timeout, name, `${timeout === undefined ? 'no time limit set' : `time limit ${timeout}`}: jobsd stops an attempt after one hour (timeout: 1h)`, id);
  const success = lastValue(service, 'Service', 'SuccessExitStatus');
  if (success !== undefined) {
    const codes = success.split(/\s+/).filter((w) => /^\d+$/.test(w)).map(Number);
    const other = success.split(/\s+/).filter((w) => w && !/^\d+$/.test(w));
    if (codes.length && task.success_exit_codes === undefined) task.success_exit_codes = [0, ...codes.filter((c) => c !== 0)];
    if (other.length) notes.dropped(C.setting, name, `SuccessExitStatus=${other.join(' ')}: signals are not imported`, id);
  }
  for (const e of service.get('Service') ?? []) {
    if (!SERVICE_CARRIED.has(e.key)) notes.dropped(C.setting, `${name}:${e.line}`, `${e.key}=${e.value} is not imported${e.key === 'User' || e.key === 'Group' || e.key === 'DynamicUser' ? ": the command runs as the agent's user" : ''}`, id);
  }
  return task;
}

type Exec = { argv: string[]; shell: string; ignoreFailure: boolean };

function execLine(raw: string, env: Map<string, string>, name: string, line: number, notes: Notes, id: string): Exec {
  let text = raw;
  let ignoreFailure = false;
  const prefix = /^[@\-:+!]+/.exec(text)?.[0] ?? '';
  text = text.slice(prefix.length);
  if (prefix.includes('-')) ignoreFailure = true;
  if (/[@:+!]/.test(prefix)) notes.dropped(C.command, `${name}:${line}`, `the ExecStart= prefix "${prefix.replace('-', '')}" is not imported`, id);
  const stem = name.replace(/\.service$/, '');
  text = text.replace(/%(.)/g, (all, c: string) => {
    const known: Record<string, string> = { '%': '%', n: name, N: stem, p: stem.split('@')[0]!, i: stem.split('@')[1] ?? '' };
    if (known[c] !== undefined) return known[c]!;
    notes.dropped(C.command, `${name}:${line}`, `the specifier ${all} is not resolved`, id);
    return all;
  });
  const words = splitCommandLine(text);
  const argv: string[] = [];
  const shellWords: string[] = [];
  for (const word of words) {
    const parts: Part[] = [];
    let shell = '';
    for (const p of word) {
      if ('text' in p) {
        parts.push({ plain: p.text });
        shell += shellQuote(p.text);
      } else if (env.has(p.variable)) {
        parts.push({ plain: env.get(p.variable)! });
        shell += shellQuote(env.get(p.variable)!);
        if (p.split && /\s/.test(env.get(p.variable)!)) notes.changed(C.command, `${name}:${line}`, `$${p.variable} is put in as one word; systemd split it on whitespace`, id);
      } else {
        parts.push({ raw: `\${${p.variable}}` });
        shell += `"\${${p.variable}}"`;
        notes.changed(C.command, `${name}:${line}`, `\${${p.variable}} is not set by Environment=: it is read from the agent's environment when the job file is loaded`, id);
      }
    }
    argv.push(joinParts(parts));
    shellWords.push(shell);
  }
  return { argv, shell: joinParts([{ plain: shellWords.join(' ') }]).replace(/\$\$\{/g, '${'), ignoreFailure };
}

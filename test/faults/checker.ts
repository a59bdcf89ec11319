// The fault suite's checker: what the commands wrote (their marks), set against the ledger. Nothing here
// reads the ledger's primary key as proof: a fire that ran twice shows as two `end` marks, whatever the
// ledger says.

export interface Mark {
  kind: 'start' | 'tick' | 'end';
  job: string;
  fire: string;
  attempt: number;
  instance: string;
  ms: number;
}

export function parseMarks(text: string): Mark[] {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => {
      const [kind, job, fire, attempt, instance, ms] = line.split(' ');
      return { kind: kind as Mark['kind'], job: job!, fire: fire!, attempt: Number(attempt), instance: instance!, ms: Number(ms) };
    });
}

/** One process's run of a fire: from its start mark to its last mark. */
export interface Execution {
  job: string;
  fire: string;
  attempt: number;
  instance: string;
  startMs: number;
  lastMs: number;
  ended: boolean;
}

export function executions(marks: readonly Mark[]): Execution[] {
  const byRun = new Map<string, Execution>();
  for (const m of marks) {
    const key = `${m.job} ${m.fire} ${m.attempt} ${m.instance}`;
    const run = byRun.get(key);
    if (!run) {
      byRun.set(key, { job: m.job, fire: m.fire, attempt: m.attempt, instance: m.instance, startMs: m.ms, lastMs: m.ms, ended: m.kind === 'end' });
      continue;
    }
    run.startMs = Math.min(run.startMs, m.ms);
    run.lastMs = Math.max(run.lastMs, m.ms);
    run.ended ||= m.kind === 'end';
  }
  return [...byRun.values()].sort((a, b) => a.startMs - b.startMs);
}

/** Fires whose command completed more than once (two `end` marks), with the executions that did. */
export function completedTwice(marks: readonly Mark[]): string[] {
  const ends = new Map<string, Execution[]>();
  for (const run of executions(marks)) {
    if (!run.ended) continue;
    const key = `${run.job} ${run.fire}`;
    ends.set(key, [...(ends.get(key) ?? []), run]);
  }
  return [...ends.entries()].filter(([, runs]) => runs.length > 1).map(([key, runs]) => `${key}: ${runs.map(describe).join('; ')}`);
}

/** Pairs of executions of one job that overlapped in wall time (for jobs that do not allow it). */
export function overlaps(marks: readonly Mark[], job: string): string[] {
  const runs = executions(marks).filter((r) => r.job === job);
  const found: string[] = [];
  for (let i = 0; i < runs.length; i++) {
    for (let j = i + 1; j < runs.length; j++) {
      const a = runs[i]!;
      const b = runs[j]!;
      if (b.startMs < a.lastMs) found.push(`${describe(a)} overlaps ${describe(b)} by ${a.lastMs - b.startMs} ms`);
    }
  }
  return found;
}

/** Executions that started more than once for one (fire, attempt): an attempt run by two agents. */
export function attemptsStartedTwice(marks: readonly Mark[]): string[] {
  const starts = new Map<string, Mark[]>();
  for (const m of marks) {
    if (m.kind !== 'start') continue;
    const key = `${m.job} ${m.fire} attempt ${m.attempt}`;
    starts.set(key, [...(starts.get(key) ?? []), m]);
  }
  return [...starts.entries()].filter(([, s]) => s.length > 1).map(([key, s]) => `${key} on ${s.map((m) => m.instance).join(' and ')}`);
}

export interface LedgerFire {
  job_id: string;
  fire_time: Date;
  state: string;
  attempts: number;
  result: Record<string, unknown> | null;
}

/**
 * Disagreements between the ledger and the marks: a fire whose command completed must be `succeeded`
 * (these jobs exit 0), a `succeeded` fire must have a completed command, and no fire is left
 * `queued` or `running` once the cluster has settled.
 */
export function ledgerDisagreements(marks: readonly Mark[], rows: readonly LedgerFire[]): string[] {
  const completed = new Set(executions(marks).filter((r) => r.ended).map((r) => `${r.job} ${r.fire}`));
  const problems: string[] = [];
  for (const row of rows) {
    const key = `${row.job_id} ${row.fire_time.toISOString()}`;
    if (completed.has(key) && row.state !== 'succeeded') problems.push(`${key}: the command completed, the ledger says ${row.state} (${String(row.result?.message)})`);
    if (!completed.has(key) && row.state === 'succeeded') problems.push(`${key}: the ledger says succeeded, no command completed`);
    if (row.state === 'queued' || row.state === 'running' || row.state === 'scheduled') problems.push(`${key}: left ${row.state}`);
    completed.delete(key);
  }
  for (const key of completed) problems.push(`${key}: the command completed, the ledger has no row`);
  return problems;
}

function describe(run: Execution): string {
  return `attempt ${run.attempt} on ${run.instance} [${new Date(run.startMs).toISOString()} … ${new Date(run.lastMs).toISOString()}${run.ended ? ', ended' : ''}]`;
}

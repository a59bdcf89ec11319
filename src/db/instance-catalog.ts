// What an instance reports of its catalog, one row per job in jobsd.instance_jobs (migration 005): enough
// for `jobsd list` to show the jobs as the agent runs them (a broken file's last good version, the agent's
// JOBSD_ENV) and for `jobsd run` to know the job and the definition it runs (by hash). No secret: the task
// is left out, and the description and schedule are scrubbed of the job's secrets.
//
// The rows are written per change, for the jobs that changed only (an edit of one file among 100,000
// writes one row), by one write at a time: changes that come while a write is under way go in the next.

import type pg from 'pg';
import type { JobDefinition, TaskType } from '../definitions/types.ts';
import { allSecrets, redactDeep, scrubText } from '../redact.ts';

/** What an agent reports of a job: the definition's fields that say what and when, never its task. */
export interface ReportedJob extends Pick<JobDefinition, 'id' | 'file' | 'description' | 'enabled' | 'schedule' | 'overlap'> {
  task_type: TaskType;
  /** The definition's hash (src/definitions/normalize.ts): which version of the file the agent runs. */
  hash: string;
}

export function reportedJob(def: JobDefinition): ReportedJob {
  const secrets = allSecrets(def.secrets);
  return {
    id: def.id,
    file: def.file,
    ...(def.description !== undefined ? { description: scrubText(def.description, secrets) } : {}),
    enabled: def.enabled,
    schedule: redactDeep(def.schedule, secrets),
    overlap: def.overlap,
    task_type: def.task.type,
    hash: def.hash,
  };
}

/** Jobs written per statement: the first report of 100,000 jobs is 20 statements of about 1.5 MB. */
const ROWS_PER_STATEMENT = 5_000;

/**
 * Upserts the given jobs' rows and deletes the rows of `gone`, in one statement; `last` marks the
 * instance's catalog as reported. Nothing is written for an instance whose row is gone.
 */
async function writeRows(pool: pg.Pool, instance: string, jobs: string[], gone: string[], last: boolean): Promise<void> {
  await pool.query(
    `WITH me AS (SELECT name FROM jobsd.instances WHERE name = $1),
     gone AS (DELETE FROM jobsd.instance_jobs WHERE instance = $1 AND id = ANY($2::text[])),
     written AS (INSERT INTO jobsd.instance_jobs (instance, id, job)
       SELECT me.name, j->>'id', j FROM me, jsonb_array_elements($3::jsonb) j
       ON CONFLICT (instance, id) DO UPDATE SET job = EXCLUDED.job)
     UPDATE jobsd.instances SET jobs_reported = true WHERE name = $1 AND $4 AND NOT jobs_reported`,
    [instance, gone, `[${jobs.join(',')}]`, last],
  );
}

/** Reports an agent's catalog in jobsd.instance_jobs, per change. */
export class CatalogReport {
  readonly #pool: pg.Pool;
  readonly #instance: string;
  /** The definition in force for an id, or undefined once the job is gone. */
  readonly #definition: (id: string) => JobDefinition | undefined;
  /** Ids whose row is to be written (or deleted) by the next write. */
  #pending = new Set<string>();
  /** The write under way, and the one that follows it (with the changes that came meanwhile). */
  #writing: Promise<void> | undefined;
  #next: Promise<void> | undefined;

  constructor(pool: pg.Pool, instance: string, definition: (id: string) => JobDefinition | undefined) {
    this.#pool = pool;
    this.#instance = instance;
    this.#definition = definition;
  }

  /** These jobs were added, changed or removed: their rows are written by the next flush(). */
  changed(ids: Iterable<string>): void {
    for (const id of ids) this.#pending.add(id);
  }

  /**
   * Writes the rows of the jobs changed so far; resolves once they are written. While a write is under
   * way, the next one waits for it (one write at a time; flushes meanwhile share that next write). A
   * failed write keeps its ids for the next flush, and rejects.
   */
  flush(): Promise<void> {
    this.#next ??= (this.#writing ?? Promise.resolve())
      .catch(() => undefined)
      .then(() => {
        this.#next = undefined;
        const writing = this.#write();
        this.#writing = writing;
        return writing.finally(() => {
          if (this.#writing === writing) this.#writing = undefined;
        });
      });
    return this.#next;
  }

  async #write(): Promise<void> {
    const ids = [...this.#pending];
    this.#pending = new Set();
    try {
      const gone: string[] = [];
      const jobs: string[] = [];
      for (const id of ids) {
        const def = this.#definition(id);
        if (def) jobs.push(JSON.stringify(reportedJob(def)));
        else gone.push(id);
      }
      const statements = Math.max(1, Math.ceil(jobs.length / ROWS_PER_STATEMENT));
      for (let i = 0; i < statements; i++) {
        const slice = jobs.slice(i * ROWS_PER_STATEMENT, (i + 1) * ROWS_PER_STATEMENT);
        await writeRows(this.#pool, this.#instance, slice, i === 0 ? gone : [], i === statements - 1);
      }
    } catch (error) {
      for (const id of ids) this.#pending.add(id);
      throw error;
    }
  }
}

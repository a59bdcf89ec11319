// vm-extract's side of PostgreSQL: the two tables (created if missing), a session staging table filled by
// COPY, and the one-transaction-per-date replace.
import { once } from 'node:events';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';

const TABLES = `
CREATE TABLE IF NOT EXISTS vm_extracted_metrics (
  biz_date date NOT NULL,
  audit_id text,
  metric_name text NOT NULL,
  labels jsonb NOT NULL,
  value double precision,
  "timestamp" timestamptz NOT NULL,
  extracted_at timestamptz NOT NULL,
  job_id text NOT NULL,
  job_execution_timestamp timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS vm_extracted_metrics_job_date ON vm_extracted_metrics (job_id, biz_date);
CREATE TABLE IF NOT EXISTS vm_extraction_jobs (
  job_id text NOT NULL,
  business_date date NOT NULL,
  execution_timestamp timestamptz NOT NULL,
  started_at timestamptz NOT NULL,
  completed_at timestamptz NOT NULL,
  records_processed bigint NOT NULL DEFAULT 0,
  execution_time_seconds double precision NOT NULL DEFAULT 0,
  max_data_timestamp timestamptz,
  error_message text
);
CREATE INDEX IF NOT EXISTS vm_extraction_jobs_job_date ON vm_extraction_jobs (job_id, business_date, completed_at);
`;

/** Creates the tables when missing; an advisory lock keeps replicas that start together from racing. */
export async function ensureTables(client: pg.ClientBase): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query(`SELECT pg_advisory_xact_lock(hashtext('jobsd vm-extract tables'))`);
    await client.query(TABLES);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** The newest sample timestamp extracted so far per business date (successful extractions only). */
export async function recordedNewest(client: pg.ClientBase, jobId: string, dates: readonly string[]): Promise<Map<string, number>> {
  const { rows } = await client.query<{ date: string; newest: Date | null }>(
    `SELECT DISTINCT ON (business_date) business_date::text AS date, max_data_timestamp AS newest
       FROM vm_extraction_jobs
      WHERE job_id = $1 AND business_date = ANY($2::date[]) AND error_message IS NULL
      ORDER BY business_date, completed_at DESC`,
    [jobId, dates],
  );
  return new Map(rows.filter((r) => r.newest !== null).map((r) => [r.date, r.newest!.getTime()]));
}

export async function createStage(client: pg.ClientBase): Promise<void> {
  await client.query(`CREATE TEMP TABLE IF NOT EXISTS jobsd_extract_stage (
    biz_date date NOT NULL, audit_id text, metric_name text NOT NULL, labels text NOT NULL, value double precision, ts bigint NOT NULL)`);
  await client.query('TRUNCATE jobsd_extract_stage');
}

/** A text field for COPY's text format. */
export function copyText(value: string | undefined): string {
  if (value === undefined) return '\\N';
  return value.replace(/[\\\t\n\r]/g, (c) => (c === '\\' ? '\\\\' : c === '\t' ? '\\t' : c === '\n' ? '\\n' : '\\r'));
}

export function copyNumber(value: number): string {
  return Number.isNaN(value) ? 'NaN' : value === Infinity ? 'Infinity' : value === -Infinity ? '-Infinity' : String(value);
}

/** A COPY into the staging table with backpressure: rows are buffered into ~64 KiB writes. */
export class StageWriter {
  private buffer = '';
  private readonly stream: NodeJS.WritableStream;
  private constructor(stream: NodeJS.WritableStream) {
    this.stream = stream;
  }

  static async open(client: pg.ClientBase): Promise<StageWriter> {
    const stream = client.query(copyFrom('COPY jobsd_extract_stage (biz_date, audit_id, metric_name, labels, value, ts) FROM STDIN'));
    return new StageWriter(stream);
  }

  /** Adds one line of COPY text (ending in a newline); true when the buffer is full and should be flushed. */
  push(row: string): boolean {
    this.buffer += row;
    return this.buffer.length >= 65_536;
  }

  async flush(): Promise<void> {
    const chunk = this.buffer;
    this.buffer = '';
    if (chunk && !this.stream.write(chunk)) await once(this.stream, 'drain');
  }

  async end(): Promise<void> {
    await this.flush();
    const done = once(this.stream, 'finish');
    this.stream.end();
    await done;
  }

  /** Abandons the COPY (the stream is destroyed, PostgreSQL rolls it back). */
  abort(err: Error): void {
    (this.stream as unknown as { destroy(e: Error): void }).destroy(err);
  }
}

export interface DateReplace {
  jobId: string;
  date: string;
  executionMs: number;
  startedMs: number;
  newestMs: number;
}

/**
 * Replaces one business date in one transaction: its old rows for the job deleted, the staged rows of that
 * date inserted, the vm_extraction_jobs row written. Returns the rows written; throws (rolled back) on failure.
 */
export async function replaceDate(client: pg.ClientBase, r: DateReplace): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('DELETE FROM vm_extracted_metrics WHERE job_id = $1 AND biz_date = $2', [r.jobId, r.date]);
    const inserted = await client.query(
      `INSERT INTO vm_extracted_metrics (biz_date, audit_id, metric_name, labels, value, "timestamp", extracted_at, job_id, job_execution_timestamp)
       SELECT biz_date, audit_id, metric_name, labels::jsonb, value, to_timestamp(ts / 1000.0), now(), $1, $3
         FROM jobsd_extract_stage WHERE biz_date = $2`,
      [r.jobId, r.date, new Date(r.executionMs)],
    );
    const rows = inserted.rowCount ?? 0;
    await client.query(
      `INSERT INTO vm_extraction_jobs (job_id, business_date, execution_timestamp, started_at, completed_at, records_processed,
                                       execution_time_seconds, max_data_timestamp, error_message)
       VALUES ($1, $2, $3, $4, clock_timestamp(), $5, extract(epoch FROM clock_timestamp() - $4::timestamptz), $6, NULL)`,
      [r.jobId, r.date, new Date(r.executionMs), new Date(r.startedMs), rows, new Date(r.newestMs)],
    );
    await client.query('COMMIT');
    return rows;
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** Records a date that failed (after its transaction rolled back). */
export async function recordFailure(client: pg.ClientBase, r: Omit<DateReplace, 'newestMs'>, error: string): Promise<void> {
  await client.query(
    `INSERT INTO vm_extraction_jobs (job_id, business_date, execution_timestamp, started_at, completed_at, records_processed,
                                     execution_time_seconds, max_data_timestamp, error_message)
     VALUES ($1, $2, $3, $4, clock_timestamp(), 0, extract(epoch FROM clock_timestamp() - $4::timestamptz), NULL, $5)`,
    [r.jobId, r.date, new Date(r.executionMs), new Date(r.startedMs), error],
  );
}

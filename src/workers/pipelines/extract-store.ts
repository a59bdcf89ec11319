// vm-extract's side of PostgreSQL: the two tables (created if missing), and the replace of one business date
// in one transaction, its rows streamed in by COPY.
import { once } from 'node:events';
import type pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { dateMs } from './business-dates.ts';
import { COPY_BINARY_SQL, COPY_HEADER, COPY_TRAILER, datePrefix, RowBuffer, rowSuffix } from './copy-binary.ts';

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
-- Samples as VictoriaMetrics exported them, duplicates included (records_processed counts the rows written):
-- what its per-date count is compared with. Added by jobsd; rows without it fall back to records_processed.
ALTER TABLE vm_extraction_jobs ADD COLUMN IF NOT EXISTS samples_read bigint;
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

/** The newest sample timestamp and the samples read by the last successful extraction of each business date. */
export async function recordedNewest(client: pg.Pool | pg.ClientBase, jobId: string, dates: readonly string[]): Promise<Map<string, { newestMs: number; samples: number }>> {
  const { rows } = await client.query<{ date: string; newest: Date | null; samples: string }>(
    `SELECT DISTINCT ON (business_date) business_date::text AS date, max_data_timestamp AS newest, coalesce(samples_read, records_processed) AS samples
       FROM vm_extraction_jobs
      WHERE job_id = $1 AND business_date = ANY($2::date[]) AND error_message IS NULL
      ORDER BY business_date, completed_at DESC`,
    [jobId, dates],
  );
  return new Map(rows.filter((r) => r.newest !== null).map((r) => [r.date, { newestMs: r.newest!.getTime(), samples: Number(r.samples) }]));
}

/** Bytes of COPY data that may be queued per date before the export read waits for PostgreSQL. */
const WRITER_SLACK_BYTES = 1 << 20;
/** Rows are handed to the connection in pieces of about this size. */
const WRITE_BYTES = 1 << 16;

/**
 * One business date being replaced: a connection of its own holding one transaction, in which the job's old
 * rows of the date are deleted and the new ones streamed in by COPY as they arrive. `commit` writes the
 * vm_extraction_jobs row and commits; `rollback` leaves the date's previous rows as they were.
 */
export class DateWriter {
  readonly date: string;
  /** Rows written: one per (series, timestamp). */
  samples = 0;
  /** Samples exported by VictoriaMetrics, duplicates included. */
  read = 0;
  newestMs = -Infinity;
  /** Set when the COPY failed (a constraint, a trigger, a lost connection): later rows are dropped. */
  failure: Error | undefined;
  readonly startedMs = Date.now();
  /** What every row of this date starts with (biz_date) and ends with (extracted_at, job_id, job_execution_timestamp). */
  private readonly prefix: Buffer;
  private readonly suffix: Buffer;
  private readonly rows = new RowBuffer();
  private readonly client: pg.PoolClient;
  private readonly stream: NodeJS.WritableStream;
  private readonly jobId: string;
  private readonly executionMs: number;

  private constructor(client: pg.PoolClient, stream: NodeJS.WritableStream, date: string, jobId: string, executionMs: number) {
    this.client = client;
    this.stream = stream;
    this.date = date;
    this.jobId = jobId;
    this.executionMs = executionMs;
    this.prefix = datePrefix(dateMs(date));
    this.suffix = rowSuffix(Date.now(), jobId, executionMs);
    stream.on('error', (err: Error) => (this.failure ??= err));
    stream.write(COPY_HEADER);
  }

  static async open(pool: pg.Pool, date: string, jobId: string, executionMs: number): Promise<DateWriter> {
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('DELETE FROM vm_extracted_metrics WHERE job_id = $1 AND biz_date = $2', [jobId, date]);
      return new DateWriter(client, client.query(copyFrom(COPY_BINARY_SQL)), date, jobId, executionMs);
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      client.release();
      throw err;
    }
  }

  /** Adds one row: a series' fields (copy-binary.ts), one of its samples. */
  add(series: Buffer, value: number, timestampMs: number): void {
    this.samples++;
    if (timestampMs > this.newestMs) this.newestMs = timestampMs;
    this.rows.row(this.prefix, series, value, timestampMs, this.suffix);
  }

  /** Adds one row from bytes: see RowBuffer.rowFromBytes. */
  addBytes(src: Buffer, nameStart: number, nameEnd: number, labelsStart: number, labelsEnd: number, value: number, timestampMs: number): void {
    this.samples++;
    if (timestampMs > this.newestMs) this.newestMs = timestampMs;
    this.rows.rowFromBytes(this.prefix, src, nameStart, nameEnd, labelsStart, labelsEnd, value, timestampMs, this.suffix);
  }

  /** Hands the rows buffered to the connection (all of them with `all`), waiting when it is behind. */
  async flush(all = false): Promise<void> {
    if (this.rows.length < (all ? 1 : WRITE_BYTES)) return;
    const chunk = this.rows.take();
    if (this.failure) return;
    this.stream.write(chunk);
    // Up to WRITER_SLACK_BYTES may wait per date, so that PostgreSQL keeps working on every date while the
    // export is read; past that the read waits for this date's backend (backpressure, bounded memory).
    if ((this.stream as unknown as { writableLength: number }).writableLength > WRITER_SLACK_BYTES) {
      // events.once rejects on 'error' by itself, and removes its listeners either way.
      await once(this.stream, 'drain').catch(() => undefined);
    }
  }

  /** Ends the COPY, writes the vm_extraction_jobs row and commits; throws (rolled back) on failure. */
  async commit(): Promise<number> {
    try {
      await this.flush(true);
      if (!this.failure) {
        const finished = once(this.stream, 'finish'); // rejects on 'error'
        this.stream.end(COPY_TRAILER);
        await finished;
      }
      if (this.failure) throw this.failure;
      await this.client.query(
        `INSERT INTO vm_extraction_jobs (job_id, business_date, execution_timestamp, started_at, completed_at, records_processed,
                                         execution_time_seconds, max_data_timestamp, error_message, samples_read)
         VALUES ($1, $2, $3, $4, clock_timestamp(), $5, extract(epoch FROM clock_timestamp() - $4::timestamptz), $6, NULL, $7)`,
        [this.jobId, this.date, new Date(this.executionMs), new Date(this.startedMs), this.samples, new Date(this.newestMs), this.read],
      );
      await this.client.query('COMMIT');
      return this.samples;
    } catch (err) {
      await this.rollback();
      throw err;
    } finally {
      this.client.release();
    }
  }

  /** Abandons the date: its transaction is rolled back, its previous rows stay. */
  async rollback(): Promise<void> {
    if (!this.failure) {
      this.failure = new Error('rolled back');
      (this.stream as unknown as { destroy(e: Error): void }).destroy(this.failure);
    }
    await this.client.query('ROLLBACK').catch(() => undefined);
  }

  release(): void {
    this.client.release();
  }
}

/** Records a date that failed (after its transaction rolled back). */
export async function recordFailure(db: pg.Pool | pg.ClientBase, r: { jobId: string; date: string; executionMs: number; startedMs: number }, error: string): Promise<void> {
  await db.query(
    `INSERT INTO vm_extraction_jobs (job_id, business_date, execution_timestamp, started_at, completed_at, records_processed,
                                     execution_time_seconds, max_data_timestamp, error_message)
     VALUES ($1, $2, $3, $4, clock_timestamp(), 0, extract(epoch FROM clock_timestamp() - $4::timestamptz), NULL, $5)`,
    [r.jobId, r.date, new Date(r.executionMs), new Date(r.startedMs), error],
  );
}

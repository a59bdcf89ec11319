// Normalised JobDefinition values for tests, with every required field filled in.
import { tmpdir } from 'node:os';
import { pino } from 'pino';
import type { CommandTask, HttpTask, JobDefinition, Task, VmCollectTask, VmExtractTask } from '../../src/definitions/types.ts';
import type { Logger } from '../../src/log.ts';
import type { RunContext } from '../../src/workers/result.ts';
import { DefinitionVersions } from '../../src/catalog/versions.ts';

type Base = Omit<JobDefinition, 'task'>;

export function baseJob(partial: Partial<Base> = {}): Base {
  return {
    id: 'test-job',
    file: '/tmp/x.yaml',
    enabled: true,
    schedule: {
      trigger: { kind: 'cron', expression: '* * * * *', source: '* * * * *' },
      timezone: 'UTC',
      jitterMs: 0,
      catchup: 'skip',
      catchupWindowMs: 3_600_000,
    },
    overlap: 'skip',
    timeoutMs: 30_000,
    leaseMs: 30_000,
    retry: { attempts: 0, delayMs: 30_000, backoff: 2, maxDelayMs: 600_000 },
    hash: 'test',
    secrets: [],
    ...partial,
  };
}

type JobWith<T extends Task> = JobDefinition & { task: T };

/** A job with this task; the rest of the job from baseJob, `defaults` overlaid by the caller's fields. */
function jobWith<T extends Task>(defaults: Partial<Base>, task: T, partial: Partial<Base>): JobWith<T> {
  return { ...baseJob({ ...defaults, ...partial }), task };
}

export function commandJob({ task, ...rest }: Partial<Base> & { task?: Partial<CommandTask> } = {}): JobWith<CommandTask> {
  const defaults: CommandTask = { type: 'command', command: ['true'], cwd: tmpdir(), env: {}, cleanEnv: false, successExitCodes: [0], killGraceMs: 2_000 };
  return jobWith({}, { ...defaults, ...task }, rest);
}

export function httpJob({ task, ...rest }: Partial<Base> & { task?: Partial<HttpTask> } = {}): JobWith<HttpTask> {
  const defaults: HttpTask = { type: 'http', method: 'GET', url: 'http://127.0.0.1:9/', headers: {}, expectStatus: [{ class: 2 }] };
  return jobWith({}, { ...defaults, ...task }, rest);
}

export function vmCollectJob({ task, ...rest }: Partial<Base> & { task: Pick<VmCollectTask, 'source' | 'victoriametrics'> & Partial<VmCollectTask> }): JobWith<VmCollectTask> {
  const defaults = {
    type: 'vm-collect' as const,
    metricPrefix: 'apex_data_',
    labelFields: ['desk'],
    labels: { source: 'apex', job: 'apex_collector' },
    watermark: { metric: 'apex_collector_watermark_days', startDate: '2026-11-19' },
    slidingWindowDays: 0,
    statusMetric: 'apex_collector_job_status',
  };
  return jobWith({ id: 'apex-collector' }, { ...defaults, ...task }, rest);
}

export function vmExtractJob({ task, ...rest }: Partial<Base> & { task: Pick<VmExtractTask, 'victoriametrics' | 'databaseUrl'> & Partial<VmExtractTask> }): JobWith<VmExtractTask> {
  const defaults = { type: 'vm-extract' as const, query: '{__name__=~"apex_data_.*"}', startDateOffsetDays: 10, chunkSizeDays: 7, statusMetric: 'extractor_job_status' };
  return jobWith({ id: 'apex-extractor' }, { ...defaults, ...task }, rest);
}

/** A logger that keeps every entry in memory. */
export function memoryLogger(): { logger: Logger; entries: Array<Record<string, unknown>> } {
  const entries: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'debug' }, {
    write(line: string) {
      entries.push(JSON.parse(line) as Record<string, unknown>);
    },
  });
  return { logger, entries };
}

export function runContext(partial: Partial<RunContext> = {}): RunContext {
  return {
    runId: 'run-1',
    fireTimeMs: Date.UTC(2026, 10, 23, 0, 0, 0, 0),
    attempt: 1,
    instance: 'test-host:1',
    logger: partial.logger ?? memoryLogger().logger,
    ...partial,
  };
}

/** The definitions an agent's workers resolve queued fires with, holding these. */
export function versionsOf(...definitions: JobDefinition[]): DefinitionVersions {
  const versions = new DefinitionVersions();
  versions.apply(definitions.map((definition) => ({ kind: 'added' as const, id: definition.id, definition })));
  return versions;
}

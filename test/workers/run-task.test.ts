import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobDefinition } from '../../src/definitions/types.ts';
import { RUN_STATUSES } from '../../src/workers/result.ts';
import { runTask } from '../../src/workers/run-task.ts';
import { commandJob, httpJob, memoryLogger, runContext, vmCollectJob } from '../helpers/definitions.ts';

describe('runTask', () => {
  it('dispatches a command task', async () => {
    const result = await runTask(commandJob({ task: { command: ['echo', 'hi'] } }), runContext());
    assert.equal(result.status, 'succeeded');
    assert.equal(result.details.output_tail, 'hi\n');
    assert.ok(RUN_STATUSES.includes(result.status));
  });

  it('dispatches an http task', async () => {
    const result = await runTask(httpJob({ task: { url: 'http://127.0.0.1:1/' } }), runContext());
    assert.equal(result.status, 'failed');
    assert.match(String(result.error), /ECONNREFUSED/);
  });

  const unreachable = (): JobDefinition => vmCollectJob({
    task: { source: { url: 'http://127.0.0.1:1/', dateParam: 'business_date', timeoutMs: 1_000 }, victoriametrics: { url: 'http://127.0.0.1:1/' } },
  });

  it('runs vm tasks in a pipeline thread: an unreachable VictoriaMetrics fails the run, naming the request', async () => {
    const { logger, entries } = memoryLogger();
    const result = await runTask(unreachable(), runContext({ logger }));
    assert.equal(result.status, 'failed');
    assert.equal(result.error, 'GET http://127.0.0.1:1/api/v1/export: connect ECONNREFUSED 127.0.0.1:1');
    const line = entries.find((e) => e.msg === 'vm-collect failed');
    assert.ok(line, 'the thread logs through the run logger');
    assert.equal(line.run, 'run-1');
  });

  it('a vm task cancelled before it starts ends cancelled', async () => {
    const result = await runTask(unreachable(), runContext({ signal: AbortSignal.abort() }));
    assert.equal(result.status, 'cancelled');
  });
});

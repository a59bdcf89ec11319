import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobDefinition } from '../../src/definitions/types.ts';
import { RUN_STATUSES } from '../../src/workers/result.ts';
import { runTask } from '../../src/workers/run-task.ts';
import { baseJob, commandJob, httpJob, runContext } from '../helpers/definitions.ts';

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

  it('reports vm tasks as not implemented yet', async () => {
    const def: JobDefinition = {
      ...baseJob(),
      task: {
        type: 'vm-collect',
        source: { url: 'http://127.0.0.1:1/', dateParam: 'business_date', timeoutMs: 1_000 },
        victoriametrics: { url: 'http://127.0.0.1:1/' },
        metricPrefix: 'x_',
        labelFields: [],
        labels: {},
        watermark: { metric: 'w', startDate: '2026-01-05' },
        slidingWindowDays: 0,
        statusMetric: 's',
      },
    };
    const result = await runTask(def, runContext());
    assert.equal(result.status, 'failed');
    assert.equal(result.error, 'vm-collect is not implemented yet');
    assert.equal(result.execution_time_seconds >= 0, true);
  });
});

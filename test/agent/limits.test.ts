// Resource limits end to end: an agent runs a job whose command allocates past `limits.memory`, and the
// ledger records it failed with the limit named; `jobsd exec` reports the same; bad values are located errors.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { jobsDir, ledger, startAgent } from '../helpers/agent.ts';
import { pollUntil } from '../helpers/poll.ts';

const GREEDY = 'task:\n  type: command\n  command: ["/usr/bin/python3", "-c", "x = bytearray(256 * 1024 * 1024)"]\n  limits: { memory: 64M, cpu: 10s, output: 1M }\n';

test('an agent: a run that allocates past limits.memory ends failed, the limit named in its ledger result', async (t) => {
  const url = await freshDatabase('limits');
  const dir = jobsDir({ 'greedy.yaml': `schedule: "@once"\n${GREEDY}`, 'modest.yaml': `schedule: "@once"\n${GREEDY.replace('256 * 1024 * 1024', '16 * 1024 * 1024')}` });
  const agent = await startAgent({ name: 'agent-a', jobsDir: dir, databaseUrl: url });
  t.after(() => agent.stop('SIGKILL'));
  await pollUntil(async () => (await ledger(url, 'greedy')).some((r) => r.state === 'failed') && (await ledger(url, 'modest')).some((r) => r.state === 'succeeded'), {
    timeoutMs: 20_000,
    what: 'both runs ended',
  });
  await agent.stop();
  const [row] = await ledger(url, 'greedy');
  const result = row!.result as { message: string; details: { limit: unknown } };
  assert.equal(result.message, 'exit code 1: memory limit 64M exceeded ("MemoryError" in its output)');
  assert.deepEqual(result.details.limit, { name: 'memory', value: '64M', evidence: '"MemoryError" in its output' });
});

test('jobsd exec: the limit in the result JSON, exit 1', async () => {
  const dir = jobsDir({ 'greedy.yaml': `schedule: "@daily"\n${GREEDY}` });
  const r = await runCli(['exec', `${dir}/greedy.yaml`, '--json']);
  assert.equal(r.code, 1, r.stderr);
  const result = JSON.parse(r.stdout) as { status: string; message: string };
  assert.equal(result.status, 'failed');
  assert.match(result.message, /memory limit 64M exceeded/);
});

test('jobsd validate: bad limits are located errors naming the field', async () => {
  const dir = jobsDir({
    'bad.yaml': [
      'schedule: "@daily"',
      'task:',
      '  type: command',
      '  command: ["true"]',
      '  limits:',
      '    memory: lots',
      '    cpu: 1500ms',
      '    open_files: 0',
      '    output: 12Q',
      '',
    ].join('\n'),
    'small.yaml': 'schedule: "@daily"\ntask: { type: command, command: ["true"], limits: { memory: 4K, stack: 8M } }\n',
  });
  const r = await runCli(['validate', `${dir}/bad.yaml`, `${dir}/small.yaml`]);
  assert.equal(r.code, 1);
  const out = r.stdout + r.stderr;
  assert.match(out, /bad\.yaml:6:13: task\.limits\.memory: .*size/);
  assert.match(out, /bad\.yaml:8:17: task\.limits\.open_files: .*(>= 1|at least 1)/);
  assert.match(out, /bad\.yaml:9:13: task\.limits\.output: .*size/);
  assert.match(out, /small\.yaml:2:.*task\.limits.*stack/);
  const cpu = jobsDir({ 'cpu.yaml': 'schedule: "@daily"\ntask:\n  type: command\n  command: ["true"]\n  limits: { cpu: 1500ms, memory: 4K }\n' });
  const c = await runCli(['validate', `${cpu}/cpu.yaml`]);
  assert.equal(c.code, 1);
  assert.match(c.stdout + c.stderr, /cpu\.yaml:5:\d+: task\.limits\.cpu: RLIMIT_CPU counts whole seconds/);
  assert.match(c.stdout + c.stderr, /cpu\.yaml:5:\d+: task\.limits\.memory: must be at least 1M/);
});

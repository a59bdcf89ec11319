// Issue 18 item 7 through a running agent: files that broke the loader (a recursive YAML alias, keys that
// are collections, a key given twice in JSON) are located errors of their own files in /api/files; the
// agent starts, and the good job next to them is loaded. A file made hostile while running is the same.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { freePort } from '../../src/db/embedded.ts';
import { jobsDir, startAgent, type AgentProcess } from '../helpers/agent.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';
import { collectionKeys, GOOD, recursiveAlias, recursiveAliasInList } from './hostile-texts.ts';

let agent: AgentProcess;
let base: string;
let dir: string;

const fileErrors = async (): Promise<string[]> =>
  ((await (await fetch(`${base}/api/files`)).json()) as { file_errors: { text: string }[] }).file_errors.map((e) => e.text.slice(dir.length + 1)).sort();

before(async () => {
  const url = await freshDatabase('hostile_agent');
  dir = jobsDir({
    'good.yaml': GOOD,
    'cycle.yaml': recursiveAlias(),
    'keys.yaml': collectionKeys(),
    'twice.json': '{"schedule": "@daily", "task": {"type": "command", "command": ["true"]}, "schedule": "@hourly"}\n',
  });
  const port = await freePort();
  base = `http://127.0.0.1:${port}`;
  agent = await startAgent({ name: 'hostile-agent', jobsDir: dir, databaseUrl: url, args: ['--http', `127.0.0.1:${port}`] });
});
after(async () => {
  await agent?.stop();
});

test('the agent starts; each hostile file is a located error of its own; the good job runs on', async () => {
  const jobs = ((await (await fetch(`${base}/api/jobs`)).json()) as { jobs: { id: string }[] }).jobs.map((j) => j.id);
  assert.deepEqual(jobs, ['good']);
  assert.deepEqual(await fileErrors(), [
    'cycle.yaml:2:6: r.r: refused: an alias that refers to a value containing it (a cycle)',
    'keys.yaml:3:3: a key must be a plain string, not a list or a mapping',
    'twice.json:1:74: invalid JSON: the key "schedule" appears twice',
  ]);
});

test('a file made hostile while the agent runs: its last good version stays, the error is located', async () => {
  writeFileSync(path.join(dir, 'later.yaml'), GOOD);
  await pollUntil(async () => ((await (await fetch(`${base}/api/jobs`)).json()) as { jobs: { id: string }[] }).jobs.some((j) => j.id === 'later'), { timeoutMs: 10_000, what: 'later loaded' });
  writeFileSync(path.join(dir, 'later.yaml'), recursiveAliasInList());
  await pollUntil(async () => (await fileErrors()).some((e) => e.startsWith('later.yaml:')), { timeoutMs: 10_000, what: 'the error of later.yaml' });
  assert.ok((await fileErrors()).includes('later.yaml:5:7: x[0][0]: refused: an alias that refers to a value containing it (a cycle)'));
  const jobs = ((await (await fetch(`${base}/api/jobs`)).json()) as { jobs: { id: string }[] }).jobs.map((j) => j.id).sort();
  assert.deepEqual(jobs, ['good', 'later']);
  assert.equal(agent.child.exitCode, null, 'the agent runs on');
  assert.doesNotMatch(agent.stderr(), /Maximum call stack|Warning:/);
});

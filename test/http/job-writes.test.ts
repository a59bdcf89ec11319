// Issue 22: jobs written through the HTTP API (PUT/DELETE /api/jobs/:id) and `jobsd apply` / `jobsd delete`,
// against a running agent: checked like a job file, written atomically, live through the watcher; a
// hand-written file is never rewritten or removed.
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { freePort } from '../../src/db/embedded.ts';
import { jobsDir, startAgent, type AgentProcess } from '../helpers/agent.ts';
import { runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';

const TOKEN = 'writes-token-31a7';

describe('jobs written through the API', () => {
  let agent: AgentProcess;
  let dir: string;
  let base: string;
  let url: string;
  before(async () => {
    url = await freshDatabase('job_writes');
    dir = jobsDir({ 'hand.yaml': 'schedule: "0 3 * * *"\ntask: { type: command, command: ["true"] }\n' });
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    agent = await startAgent({ name: 'writer', jobsDir: dir, databaseUrl: url, args: ['--http', `127.0.0.1:${port}`], env: { JOBSD_API_TOKEN: TOKEN } });
  });
  after(async () => {
    await agent?.stop();
  });

  const put = (id: string, body: string, type = 'application/yaml', token = TOKEN) =>
    fetch(`${base}/api/jobs/${id}`, { method: 'PUT', headers: { authorization: `Bearer ${token}`, 'content-type': type }, body });

  it('jobsd apply writes the file, the agent loads and runs it; jobsd delete removes it', async () => {
    const src = mkdtempSync(path.join(tmpdir(), 'jobsd-apply-'));
    const marks = path.join(src, 'marks');
    writeFileSync(path.join(src, 'pinger.yaml'), `description: written through the API\nschedule: every 1s\ntask: { type: command, command: 'echo "$JOBSD_FIRE_TIME" >> ${marks}' }\n`);
    const applied = await runCli(['apply', path.join(src, 'pinger.yaml'), '--database-url', url], { env: { JOBSD_API_TOKEN: TOKEN } });
    assert.equal(applied.code, 0, applied.stderr);
    assert.equal(applied.stdout, `pinger: created as ${dir}/pinger.yaml on writer, loaded\n`);
    const written = readFileSync(path.join(dir, 'pinger.yaml'), 'utf8');
    assert.match(written, /^# Written by the jobsd API \(PUT \/api\/jobs\/pinger\)/);
    await pollUntil(() => existsSync(marks) && readFileSync(marks, 'utf8').length > 0, { timeoutMs: 10_000, what: 'the applied job ran' });

    const again = await runCli(['apply', path.join(src, 'pinger.yaml'), '--database-url', url], { env: { JOBSD_API_TOKEN: TOKEN } });
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /^pinger: written as /);

    const deleted = await runCli(['delete', 'pinger', '--database-url', url], { env: { JOBSD_API_TOKEN: TOKEN } });
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.equal(deleted.stdout, `pinger: removed ${dir}/pinger.yaml on writer, unloaded\n`);
    assert.equal(existsSync(path.join(dir, 'pinger.yaml')), false);
    assert.equal((await fetch(`${base}/api/jobs/pinger`)).status, 404);
  });

  it('an invalid body is a 422 with located errors, and nothing is written', async () => {
    const res = await put('broken', 'schedule: "61 * * * *"\ntask: { type: command, command: ["true"] }\n');
    assert.equal(res.status, 422);
    const body = (await res.json()) as { errors: Array<{ line: number; field: string; text: string }> };
    assert.equal(body.errors[0]!.line, 1);
    assert.equal(body.errors[0]!.field, 'schedule');
    assert.equal(existsSync(path.join(dir, 'broken.yaml')), false);
    const json = await put('jsonjob', '{\n  "schedule": "every 1h",\n  "task": { "type": "http" }\n}', 'application/json');
    assert.equal(json.status, 422);
    assert.equal(((await json.json()) as { errors: Array<{ line: number }> }).errors[0]!.line, 3);
    assert.equal((await put('x', 'schedule: every 1h', 'text/html')).status, 415);
  });

  it('a hand-written job is never rewritten or removed; the token is required', async () => {
    const res = await put('hand', 'schedule: every 1h\ntask: { type: command, command: ["false"] }\n');
    assert.equal(res.status, 409);
    assert.match(((await res.json()) as { error: { message: string } }).error.message, /hand\.yaml was not written by the API/);
    const del = await fetch(`${base}/api/jobs/hand`, { method: 'DELETE', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(del.status, 409);
    assert.equal(readFileSync(path.join(dir, 'hand.yaml'), 'utf8'), 'schedule: "0 3 * * *"\ntask: { type: command, command: ["true"] }\n');
    assert.equal((await put('other', 'schedule: every 1h\ntask: { type: command, command: ["true"] }\n', 'application/yaml', 'wrong')).status, 401);
    assert.equal((await put('..%2Fescape', 'schedule: every 1h\n')).status, 400); // an id, not a path
    assert.equal((await put('Bad%20Id', 'schedule: every 1h\n')).status, 400);
  });
});

describe('jobs written through the API to a read-only jobs.d', () => {
  it('a PUT is refused with 409 and the reason, and nothing is written', async (t) => {
    const url = await freshDatabase('job_writes_ro');
    const dir = jobsDir({ 'hand.yaml': 'schedule: "0 3 * * *"\ntask: { type: command, command: ["true"] }\n' });
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // Read-only as a ConfigMap volume is: root writes anywhere, so as root the agent gets a read-only bind
    // mount of jobs.d in a mount namespace of its own; otherwise the directory's permissions do it.
    const root = process.getuid?.() === 0;
    if (!root) chmodSync(dir, 0o555);
    t.after(() => chmodSync(dir, 0o755));
    const wrapper = root ? ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind -o ro "$0" "$0" && exec "$@"', dir] : [];
    const agent = await startAgent({ name: 'ro-writer', jobsDir: dir, databaseUrl: url, args: ['--http', `127.0.0.1:${port}`], env: { JOBSD_API_TOKEN: TOKEN }, wrapper });
    t.after(() => agent.stop());
    const res = await fetch(`${base}/api/jobs/newjob`, { method: 'PUT', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/yaml' }, body: 'schedule: every 1h\ntask: { type: command, command: ["true"] }\n' });
    assert.equal(res.status, 409);
    const { error } = (await res.json()) as { error: { message: string } };
    assert.match(error.message, new RegExp(`the jobs directory ${dir} is read-only for the agent \\((EROFS|EACCES)`));
    assert.equal(existsSync(path.join(dir, 'newjob.yaml')), false);
    assert.deepEqual(readdirSync(dir), ['hand.yaml'], 'no temporary file left either');
    const src = mkdtempSync(path.join(tmpdir(), 'jobsd-apply-ro-'));
    writeFileSync(path.join(src, 'newjob.yaml'), 'schedule: every 1h\ntask: { type: command, command: ["true"] }\n');
    const applied = await runCli(['apply', path.join(src, 'newjob.yaml'), '--database-url', url], { env: { JOBSD_API_TOKEN: TOKEN } });
    assert.equal(applied.code, 1);
    assert.match(applied.stderr, /read-only for the agent/);
    assert.equal(await agent.stop(), 0);
  });
});

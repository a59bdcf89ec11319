// Issue 18 item 4: the database holds no secret value. Queued fires carry a reference to their
// definition (job id and hash), which the agent that runs them resolves from its own jobs.d, with its
// own secrets; a worker-only agent reads the same jobs.d. The check reads every row of every table,
// as pg_dump would (Debian's pg_dump is older than the test server and refuses to dump it).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { PgBoss } from 'pg-boss';
import { jobsDir, ledger, startAgent, type AgentProcess } from '../helpers/agent.ts';
import { freshDatabase } from '../helpers/db.ts';
import { pollUntil } from '../helpers/poll.ts';

const FILE_TOKEN = 'file-token-5e1f9a77';
const API_KEY = 'api-key-c4b2d816';
const URL_PASSWORD = 'url-pass-9d03e1aa';

/** Every row of every table of the database, as text. */
async function everyRow(url: string): Promise<string> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const tables = await client.query<{ s: string; t: string }>(
      `SELECT table_schema AS s, table_name AS t FROM information_schema.tables
        WHERE table_schema NOT IN ('pg_catalog', 'information_schema') AND table_type = 'BASE TABLE'`,
    );
    const parts: string[] = [];
    for (const { s, t } of tables.rows) {
      const rows = await client.query<{ row: string }>(`SELECT r::text AS row FROM "${s}"."${t}" r`);
      parts.push(`-- ${s}.${t}`, ...rows.rows.map((r) => r.row));
    }
    return parts.join('\n');
  } finally {
    await client.end();
  }
}

function secretJobs(apiUrl: string): string {
  const dir = jobsDir({
    'cmd.yaml': `schedule: every 2s\nretry: { attempts: 0 }\ntask: { type: command, command: 'test "$TOKEN" = ${FILE_TOKEN}', env: { TOKEN: "\${file:./token}" } }\n`,
    'api.yaml': `schedule: every 2s\ntask: { type: http, url: "${apiUrl}", headers: { Authorization: "Bearer \${API_KEY}" } }\n`,
    // Fails and is retried: failures are stored by pg-boss too.
    'failing.yaml': `schedule: every 2s\nretry: { attempts: 1, delay: 1s }\ntask: { type: command, command: 'echo "connecting to $DSN"; exit 3', env: { DSN: "postgres://app:${URL_PASSWORD}@127.0.0.1:1/app" } }\n`,
  });
  writeFileSync(path.join(dir, 'token'), `${FILE_TOKEN}\n`);
  chmodSync(path.join(dir, 'token'), 0o600);
  return dir;
}

describe('the database holds no secret value', () => {
  let server: Server;
  let apiUrl: string;
  const authorizations: string[] = [];
  before(async () => {
    server = createServer((req, res) => {
      authorizations.push(String(req.headers.authorization));
      res.writeHead(req.headers.authorization === `Bearer ${API_KEY}` ? 200 : 401).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/report`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const ran = async (url: string, id: string, state: string, times = 2) =>
    pollUntil(async () => (await ledger(url, id)).filter((r) => r.state === state).length >= times, { timeoutMs: 30_000, what: `${id} ${state} ${times} times` });

  it('after secret-bearing runs (succeeded, failed, retried), no table holds a secret, and the runs had them', async () => {
    const url = await freshDatabase('no_secrets');
    const agent = await startAgent({ name: 'holder', jobsDir: secretJobs(apiUrl), databaseUrl: url, env: { API_KEY } });
    try {
      await ran(url, 'cmd', 'succeeded');
      await ran(url, 'api', 'succeeded');
      await ran(url, 'failing', 'failed');
    } finally {
      await agent.stop();
    }
    assert.ok(authorizations.includes(`Bearer ${API_KEY}`), 'the HTTP job sent its secret header');
    const dump = await everyRow(url);
    assert.match(dump, /-- pgboss\.job/); // the dump reads the queue
    assert.match(dump, /jobId""?: ""?cmd/); // and the fires queued in it
    for (const secret of [FILE_TOKEN, API_KEY, URL_PASSWORD]) {
      const at = dump.indexOf(secret);
      assert.equal(at, -1, `${secret} is in the database: …${dump.slice(Math.max(0, at - 300), at + 100)}…`);
    }
  });

  it('a worker-only agent resolves the queued reference from its own jobs.d, with its secrets', async () => {
    const url = await freshDatabase('worker_resolves');
    const dir = secretJobs(apiUrl);
    const scheduler = await startAgent({ name: 'sched', jobsDir: dir, databaseUrl: url, args: ['--role', 'scheduler'], env: { API_KEY: 'the-scheduler-has-another-key' } });
    const worker = await startAgent({ name: 'work', jobsDir: dir, databaseUrl: url, args: ['--role', 'worker'], env: { API_KEY } });
    try {
      await ran(url, 'cmd', 'succeeded');
      await ran(url, 'api', 'succeeded');
      const rows = (await ledger(url, 'api')).filter((r) => r.state === 'succeeded');
      assert.ok(rows.every((r) => r.instance === 'work'), JSON.stringify(rows.map((r) => r.instance)));
    } finally {
      await Promise.all([scheduler.stop(), worker.stop()]);
    }
    const dump = await everyRow(url);
    for (const secret of [FILE_TOKEN, API_KEY, URL_PASSWORD, 'the-scheduler-has-another-key']) assert.equal(dump.indexOf(secret), -1, `${secret} is in the database`);
  });

  it("a worker whose jobs.d lacks the job fails the attempt, saying so, and pg-boss's retry runs it where it is defined", async () => {
    const url = await freshDatabase('worker_lacks_job');
    const scheduler = await startAgent({
      name: 'has-it',
      jobsDir: jobsDir({ 'only-here.yaml': 'schedule: "@once"\nretry: { attempts: 1, delay: 1s }\ntask: { type: command, command: ["true"] }\n' }),
      databaseUrl: url,
      args: ['--role', 'scheduler'],
    });
    const stranger = await startAgent({ name: 'lacks-it', jobsDir: jobsDir(), databaseUrl: url, args: ['--role', 'worker'] });
    try {
      const failed = await pollUntil(() => stranger.logs.find((l) => String(l.msg).includes('not defined on this agent')), { timeoutMs: 30_000, what: 'the stranger refused the fire' });
      assert.equal(failed.job, 'only-here');
      assert.equal(failed.level, 50);
      assert.match(String(failed.msg), /job only-here is not defined on this agent \(lacks-it\): every agent must read the same jobs directory/);
      await stranger.stop();
      const worker = await startAgent({ name: 'has-it-too', jobsDir: jobsDir({ 'only-here.yaml': 'schedule: "@once"\nretry: { attempts: 1, delay: 1s }\ntask: { type: command, command: ["true"] }\n' }), databaseUrl: url, args: ['--role', 'worker'] });
      try {
        const row = await pollUntil(async () => (await ledger(url, 'only-here')).find((r) => r.state === 'succeeded'), { timeoutMs: 30_000, what: 'the retry succeeded' });
        assert.equal(row.instance, 'has-it-too');
        assert.equal(row.attempts, 2);
      } finally {
        await worker.stop();
      }
    } finally {
      await Promise.all([scheduler.stop(), stranger.stop()]);
    }
  });

  it('a queue row forged with a definition of its own runs the job of the agent, not that definition', async () => {
    const url = await freshDatabase('forged_row');
    const dir = jobsDir({ 'safe.yaml': 'schedule: "0 0 1 1 *"\ntask: { type: command, command: ["true"] }\n' });
    const pwned = path.join(dir, 'pwned');
    const agent = await startAgent({ name: 'victim', jobsDir: dir, databaseUrl: url });
    const boss = new PgBoss({ connectionString: url, schema: 'pgboss', schedule: false, supervise: false });
    boss.on('error', () => undefined);
    await boss.start();
    try {
      const forged = { jobId: 'safe', fireTime: new Date().toISOString(), runId: randomUUID(), manual: true, definition: { id: 'safe', hash: 'x', task: { type: 'command', command: ['touch', pwned] } } };
      await boss.send('jobsd-skip', forged, { singletonKey: 'safe' });
      const done = await pollUntil(() => agent.logs.find((l) => l.job === 'safe' && String(l.msg).startsWith('run ')  && l.status !== undefined), { timeoutMs: 20_000, what: 'the forged run ended' });
      assert.equal(done.status, 'succeeded');
      assert.equal(existsSync(pwned), false, 'the forged command did not run');
    } finally {
      await boss.stop({ graceful: false, close: true });
      await agent.stop();
    }
  });
});

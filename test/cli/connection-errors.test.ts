// Ordinary failures to reach the database are one line each, saying what failed and what to check, exit 1:
// no stack trace, and never the password of the URL (issue 18 item 11).

import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { test } from 'node:test';
import { jobsDir } from '../helpers/agent.ts';
import { runCli } from '../helpers/cli.ts';
import { freshDatabase } from '../helpers/db.ts';

const PASSWORD = 'not-the-password-4711';

/** A TCP server on 127.0.0.1 that does `onSocket` with each connection; its URL with PASSWORD. */
async function tcpServer(onSocket: (socket: Socket) => void): Promise<{ url: string; server: Server }> {
  const server = createServer(onSocket);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `postgres://jobsd:${PASSWORD}@127.0.0.1:${port}/jobsd`, server };
}

const COMMANDS = [['status'], ['list'], ['history', 'backup'], ['run', 'backup']];

async function assertOneLine(url: string, expected: RegExp): Promise<void> {
  const dir = jobsDir({ 'backup.yaml': 'schedule: every 1h\ntask: { type: command, command: ["true"] }\n' });
  await Promise.all(
    COMMANDS.map(async (command) => {
      const result = await runCli([...command, '--database-url', url, ...(command[0] === 'status' ? [] : ['--jobs-dir', dir])]);
      const what = `jobsd ${command.join(' ')}: ${result.stderr}`;
      assert.equal(result.code, 1, what);
      assert.equal(result.stderr.trim().split('\n').length, 1, what);
      assert.match(result.stderr, new RegExp(`^jobsd ${command[0]}: ${expected.source}`), what);
      assert.doesNotMatch(result.stderr, /\n\s+at /, what);
      assert.ok(!result.stderr.includes(PASSWORD), what);
    }),
  );
  // The agent says the same in its one fatal line.
  const start = await runCli(['start', '--database-url', url, '--jobs-dir', dir, '--http', 'off']);
  assert.equal(start.code, 1, start.stdout + start.stderr);
  const fatal = start.stdout.trim().split('\n').map((l) => JSON.parse(l) as { level: number; msg: string; err?: unknown }).filter((l) => l.level >= 60);
  assert.equal(fatal.length, 1, start.stdout);
  assert.match(fatal[0]!.msg, new RegExp(`^jobsd could not start: ${expected.source}`));
  assert.equal(fatal[0]!.err, undefined, 'no stack trace');
  assert.ok(!(start.stdout + start.stderr).includes(PASSWORD));
}

test('connection refused', async () => {
  const { url, server } = await tcpServer(() => undefined);
  server.close(); // nothing listens on that port any more
  await assertOneLine(url, /cannot connect to the database at jobsd@127\.0\.0\.1:\d+\/jobsd: connection refused .*check --database-url/);
});

test('a host name that does not resolve', async () => {
  await assertOneLine(`postgres://jobsd:${PASSWORD}@no-such-host.invalid:5432/jobsd`, /cannot connect to the database at jobsd@no-such-host\.invalid:5432\/jobsd: the host name does not resolve/);
});

test('a server that never answers', async (t) => {
  const sockets: Socket[] = [];
  const { url, server } = await tcpServer((s) => sockets.push(s));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  await assertOneLine(url, /cannot connect to the database at jobsd@127\.0\.0\.1:\d+\/jobsd: no answer within 5 s/);
});

test('a server that closes the connection (not PostgreSQL)', async (t) => {
  const { url, server } = await tcpServer((s) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n'));
  t.after(() => server.close());
  await assertOneLine(url, /the server at jobsd@127\.0\.0\.1:\d+\/jobsd closed the connection before answering/);
});

test('a wrong password, and a database that does not exist', async () => {
  const real = new URL(await freshDatabase('connection_errors'));
  const wrong = new URL(real);
  wrong.password = PASSWORD;
  await assertOneLine(wrong.toString(), /the database at \S+ refused the password; check --database-url/);
  const missing = new URL(real);
  missing.pathname = '/no_such_database';
  await assertOneLine(missing.toString(), /the database at \S+\/no_such_database does not exist/);
});

// jobsd status [--json]: instances with heartbeats, queue depth, file errors.

import { listInstances } from '../db/instances.ts';
import { queueDepths } from '../queue/depth.ts';
import { QUEUES } from '../queue/queues.ts';
import { formatFileError, type FileError } from '../definitions/errors.ts';
import { EXIT, parseCommandArgs, type Command } from './command.ts';
import { DATABASE_FLAGS, withDatabase } from './database.ts';
import { formatTable } from './table.ts';
import { escapeControl } from '../files/limits.ts';

const usage = `Usage: jobsd status [--json] [--database-url URL] [--data-dir DIR]

The running agents (with the age of their last heartbeat; stale past 90 s, dropped past 10 min), the depth
of each queue, and the file errors the live agents report (a file in error keeps its last good version running).
With no agent running, the embedded PostgreSQL of --data-dir is started for the command.`;

export const statusCommand: Command = {
  name: 'status',
  summary: 'instances, queue depth and file errors',
  usage,
  async run(args, io) {
    const { values } = parseCommandArgs(args, { ...DATABASE_FLAGS, json: { type: 'boolean' } }, false);
    const { instances, queues } = await withDatabase(values, io, async ({ pool }) => {
      const instances = await listInstances(pool);
      const queues = await queueDepths(pool).catch(() => Object.values(QUEUES).map((q) => ({ name: q.name, queued: 0, retry: 0, active: 0, oldestWaitingSeconds: 0 })));
      return { instances, queues };
    });
    const errors = new Map<string, FileError>();
    // A stale instance's file errors may have been fixed since: only live instances' count.
    for (const i of instances) if (!i.stale) for (const e of i.file_errors) errors.set(formatFileError(e), e);
    if (values.json) {
      io.stdout(JSON.stringify({ instances, queues, file_errors: [...errors.values()].map((e) => ({ ...e, text: formatFileError(e) })) }, null, 2) + '\n');
      return EXIT.ok;
    }
    io.stdout('Instances\n');
    io.stdout(
      formatTable(
        ['NAME', 'ROLE', 'JOBS', 'HEARTBEAT', 'STARTED (UTC)'],
        instances.map((i) => [escapeControl(i.name), i.role, String(i.jobs), `${Math.round(i.heartbeat_age_seconds)}s ago${i.stale ? ' (stale: not running?)' : ''}`, i.started_at.toISOString()]),
      ),
    );
    io.stdout('\nQueues\n');
    io.stdout(formatTable(['QUEUE', 'QUEUED', 'RETRY', 'ACTIVE'], queues.map((q) => [q.name, String(q.queued), String(q.retry), String(q.active)])));
    io.stdout(`\nFile errors: ${errors.size}\n`);
    for (const text of errors.keys()) io.stdout(`  ${escapeControl(text)}\n`); // file names and keys may hold ESC or newlines
    return EXIT.ok;
  },
};

// jobsd exec FILE [--json]: run the job's task once, here, without the database or the queue.

import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { loadFileWithDefaults } from '../definitions/directory.ts';
import { formatFileError } from '../definitions/errors.ts';
import { createLogger, registerSecrets } from '../log.ts';
import { runTask } from '../workers/run-task.ts';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command.ts';
import { FILE_FLAGS, loadOptions } from './settings.ts';

const usage = `Usage: jobsd exec FILE [--json] [--env NAME] [--allow-insecure-files] [--max-file-size SIZE]

Runs the job's task once in this process (no database, no queue) and prints the result JSON.
Logs go to stderr. Ctrl-C cancels the run (its process group gets SIGTERM, and SIGKILL after the task's
kill_grace); a second Ctrl-C kills the group now and exits 1.
Exit status: 0 the run succeeded, 1 it did not (or the file is invalid), 2 usage error.`;

/** exec runs without the agent: vm-extract jobs with no database of their own use JOBSD_DATABASE_URL. */
function databaseUrlFromEnv(io: { env: Record<string, string | undefined> }): string | undefined {
  return io.env.JOBSD_DATABASE_URL || io.env.DATABASE_URL || undefined;
}

export const execCommand: Command = {
  name: 'exec',
  summary: 'run a job file\'s task once here and print the result JSON',
  usage,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      ...FILE_FLAGS,
      json: { type: 'boolean' },
    });
    if (positionals.length !== 1) throw new UsageError('expected exactly one job FILE');
    const load = loadFileWithDefaults(positionals[0]!, loadOptions(values, io));
    if (!load.ok) {
      for (const e of load.errors) io.stderr(formatFileError(e) + '\n');
      return EXIT.failed;
    }
    const job = load.definition;
    registerSecrets(job.secrets);
    const logger = createLogger({
      level: io.env.JOBSD_LOG_LEVEL ?? 'info',
      destination: 'stderr',
      pretty: !values.json && process.stderr.isTTY === true,
    });
    if (!job.enabled) logger.warn({ job: job.id }, 'the job is disabled (enabled: false); running it anyway because exec was asked to');
    const result = await runTask(job, {
      runId: randomUUID(),
      fireTimeMs: Date.now(),
      attempt: 1,
      instance: io.env.JOBSD_INSTANCE ?? `${hostname()}:${process.pid}`,
      signal: io.signal,
      urgent: io.urgent, // a second Ctrl-C: the group is killed without waiting for its kill_grace
      logger,
      ...(databaseUrlFromEnv(io) ? { databaseUrl: databaseUrlFromEnv(io)! } : {}),
    });
    io.stdout(JSON.stringify(result, null, values.json ? undefined : 2) + '\n');
    return result.status === 'succeeded' ? EXIT.ok : EXIT.failed;
  },
};

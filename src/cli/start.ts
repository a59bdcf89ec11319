// jobsd start: the agent, until SIGTERM or SIGINT.

import { isatty } from 'node:tty';
import { agentConfig, agentSecrets, ConfigError } from '../config.ts';
import { startAgent } from '../agent.ts';
import { createLogger, registerSecrets } from '../log.ts';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command.ts';

const usage = `Usage: jobsd start [--jobs-dir DIR] [--database-url URL] [--data-dir DIR] [--env NAME] [--http HOST:PORT|off]
                   [--concurrency N] [--poll] [--instance NAME] [--role all|scheduler|worker]
                   [--grace SECONDS] [--history-retention DURATION] [--allow-insecure-files] [--max-file-size SIZE]

Runs the agent: watches the jobs directory, fires each job on its schedule through the queue, runs the tasks.
With no database URL ($JOBSD_DATABASE_URL, $DATABASE_URL) it starts an embedded PostgreSQL in DATA_DIR/pg
(default ./.jobsd). SIGTERM/SIGINT: stop firing, let active runs finish for --grace seconds (default 30),
give the rest back to the queue for another replica, exit 0. --concurrency: runs at once per queue (overlap
mode) on this agent, default the larger of 32 and 16 per core.

Environment: JOBSD_JOBS_DIR JOBSD_DATABASE_URL JOBSD_DATA_DIR JOBSD_ENV JOBSD_HTTP JOBSD_CONCURRENCY
JOBSD_TIMEZONE JOBSD_LOG_LEVEL JOBSD_INSTANCE JOBSD_ROLE JOBSD_SHUTDOWN_GRACE JOBSD_HISTORY_RETENTION (default 30d)
JOBSD_ALLOW_INSECURE_FILES JOBSD_MAX_FILE_SIZE (default 1MiB: larger job files are refused unread)`;

export const startCommand: Command = {
  name: 'start',
  summary: 'run the agent on a jobs directory',
  usage,
  async run(args, io) {
    const { values, positionals } = parseCommandArgs(args, {
      'jobs-dir': { type: 'string' },
      'database-url': { type: 'string' },
      'data-dir': { type: 'string' },
      env: { type: 'string' },
      http: { type: 'string' },
      concurrency: { type: 'string' },
      poll: { type: 'boolean' },
      instance: { type: 'string' },
      role: { type: 'string' },
      grace: { type: 'string' },
      'history-retention': { type: 'string' },
      'allow-insecure-files': { type: 'boolean' },
      'max-file-size': { type: 'string' },
    });
    if (positionals.length) throw new UsageError(`unexpected argument "${positionals[0]}"`);
    let config;
    try {
      config = agentConfig(values, io.env);
    } catch (error) {
      if (error instanceof ConfigError) throw new UsageError(error.message);
      throw error;
    }
    // isatty(1), not process.stdout.isTTY: creating process.stdout puts a pipe on fd 1 in non-blocking
    // mode, and the logger's synchronous writes then meet EAGAIN whenever the reader lags, on which
    // pino's sonic-boom sleeps 100 ms, stalling every timer of the agent (src/log.ts).
    registerSecrets(agentSecrets(config)); // kept out of logs, results and the API like any job's secret
    const logger = createLogger({ level: config.logLevel, pretty: isatty(1), coalesce: true });
    if (io.signal.aborted) return EXIT.ok;
    // A scheduler must not stop firing every job over one stray promise: log it as the bug it is.
    process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection (a bug in jobsd; please report it): continuing'));
    let agent;
    try {
      agent = await startAgent(config, logger);
    } catch (err) {
      logger.fatal({ err }, `jobsd could not start: ${(err as Error).message}`);
      // What started before the failure (pool, pg-boss, timers) would keep the process alive.
      setTimeout(() => process.exit(EXIT.failed), 500).unref();
      return EXIT.failed;
    }
    await new Promise<void>((resolve) => (io.signal.aborted ? resolve() : io.signal.addEventListener('abort', () => resolve(), { once: true })));
    await agent.stop();
    return EXIT.ok;
  },
};

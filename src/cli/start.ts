// jobsd start: the agent, until SIGTERM or SIGINT.

import { mkdirSync, statSync } from 'node:fs';
import { isatty } from 'node:tty';
import { agentConfig, agentSecrets, ConfigError } from '../config.ts';
import { startAgent } from '../agent.ts';
import { EmbeddedError } from '../db/embedded.ts';
import { claimDataDir, dataDirBusyMessage, httpAddressProblem, type DataDirLock } from './agent-lock.ts';
import { createLogger, registerSecrets } from '../log.ts';
import { flushLogs } from '../log-writer.ts';
import { EXIT, parseCommandArgs, UsageError, type Command } from './command.ts';
import { databaseProblem } from './database-errors.ts';

/** How long a stop may take beyond --grace (the drain's cancellations, the last notifications, closing). */
const STOP_MARGIN_MS = 40_000;
/** How long a stop asked for by a second signal may take. */
const URGENT_EXIT_MS = 1_900;

const usage = `Usage: jobsd start [--jobs-dir DIR] [--database-url URL] [--data-dir DIR] [--env NAME] [--http HOST:PORT|off]
                   [--allowed-hosts NAME,...] [--concurrency N] [--poll] [--instance NAME] [--role all|scheduler|worker]
                   [--grace SECONDS] [--history-retention DURATION] [--allow-insecure-files] [--max-file-size SIZE]

Runs the agent: watches the jobs directory, fires each job on its schedule through the queue, runs the tasks.
With no database URL ($JOBSD_DATABASE_URL, $DATABASE_URL) it starts an embedded PostgreSQL in DATA_DIR/pg
(default ./.jobsd). SIGTERM/SIGINT: stop firing, let active runs finish for --grace seconds (default 30),
give the rest back to the queue for another replica, exit 0. A second SIGTERM/SIGINT stops now: active runs'
process groups are killed and their fires given back, exit 1 within 2 s. --concurrency: runs at once per queue (overlap
mode) on this agent, default the larger of 32 and 16 per core. --allowed-hosts: the names (besides IP addresses
and localhost) the HTTP endpoint answers to in the Host header; other names get 421 (DNS rebinding); * for any.

Environment: JOBSD_JOBS_DIR JOBSD_DATABASE_URL JOBSD_DATA_DIR JOBSD_ENV JOBSD_HTTP JOBSD_ALLOWED_HOSTS JOBSD_CONCURRENCY
JOBSD_TIMEZONE JOBSD_LOG_LEVEL JOBSD_INSTANCE JOBSD_ROLE JOBSD_SHUTDOWN_GRACE JOBSD_HISTORY_RETENTION (default 30d)
JOBSD_ALLOW_INSECURE_FILES JOBSD_MAX_FILE_SIZE (default 1MiB: larger job files are refused unread)
JOBSD_EMBEDDED_CACHE_ROOT (default /var/cache/jobsd), JOBSD_EMBEDDED_DATA_ROOT (default /var/lib/jobsd): as root,
where the embedded server's binaries and data go when the postgres user cannot reach the checkout`;

function isDirectory(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

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
      'allowed-hosts': { type: 'string' },
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
    if (!isDirectory(config.jobsDir)) throw new UsageError(`--jobs-dir ${config.jobsDir}: no such directory`, { withUsage: false });
    // isatty(1), not process.stdout.isTTY: creating process.stdout puts a pipe on fd 1 in non-blocking
    // mode for every process holding it; the agent's log writer chooses what to do with its stdout itself
    // (src/log-writer.ts).
    registerSecrets(agentSecrets(config)); // kept out of logs, results and the API like any job's secret
    const logger = createLogger({ level: config.logLevel, pretty: isatty(1), coalesce: true });
    if (io.signal.aborted) return EXIT.ok;
    // A scheduler must not stop firing every job over one stray promise: log it as the bug it is.
    process.on('unhandledRejection', (err) => logger.error({ err }, 'unhandled promise rejection (a bug in jobsd; please report it): continuing'));
    // Before anything starts: the data directory's embedded PostgreSQL belongs to one live agent.
    let lock: DataDirLock | undefined;
    if (!config.databaseUrl) {
      mkdirSync(config.dataDir, { recursive: true });
      const claim = claimDataDir(config.dataDir, config.http && `${config.http.host}:${config.http.port}`);
      if ('holder' in claim) {
        logger.fatal(`jobsd could not start: ${dataDirBusyMessage(config.dataDir, claim.holder)}`);
        return EXIT.failed;
      }
      lock = claim;
    }
    const busy = config.http && (await httpAddressProblem(config.http.host, config.http.port));
    if (busy) {
      logger.fatal(`jobsd could not start: ${busy}`);
      lock?.release();
      return EXIT.failed;
    }
    let agent;
    try {
      agent = await startAgent(config, logger);
    } catch (err) {
      // An error that says what to do is one line; anything else is a bug, with its stack.
      const problem = config.databaseUrl ? databaseProblem(err, config.databaseUrl) : undefined;
      if (err instanceof EmbeddedError) logger.fatal({ code: err.code }, `jobsd could not start: ${err.message}`);
      else if (problem) logger.fatal(`jobsd could not start: ${problem}`);
      else logger.fatal({ err }, `jobsd could not start: ${(err as Error).message}`);
      lock?.release();
      // What started before the failure (pool, pg-boss, timers) would keep the process alive.
      setTimeout(() => process.exit(EXIT.failed), 500).unref();
      return EXIT.failed;
    }
    await new Promise<void>((resolve) => (io.signal.aborted ? resolve() : io.signal.addEventListener('abort', () => resolve(), { once: true })));
    io.urgent.addEventListener(
      'abort',
      () => {
        agent.stopNow();
        // Whatever still waits (a database that does not answer) must not hold the exit past 2 s.
        setTimeout(() => {
          flushLogs();
          process.exit(EXIT.failed);
        }, URGENT_EXIT_MS).unref();
      },
      { once: true },
    );
    // A stop that hangs (a database that drops packets, a run that ignores its kill) must still end.
    setTimeout(() => {
      logger.error(`jobsd stopped: the stop did not end within --grace plus ${STOP_MARGIN_MS / 1000} s; exiting`);
      flushLogs();
      process.exit(EXIT.failed);
    }, config.graceMs + STOP_MARGIN_MS).unref();
    const unclean = await agent.stop();
    lock?.release();
    if (unclean === undefined) return EXIT.ok;
    // Connections to a database that does not answer would keep the process alive.
    setTimeout(() => process.exit(EXIT.failed), 500).unref();
    return EXIT.failed;
  },
};

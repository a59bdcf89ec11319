// The agent's logger: pino, one JSON object per line, secrets redacted.
// The CLI sends logs to stderr when stdout carries a JSON document (`--json`).
import { createRequire } from 'node:module';
import { isatty } from 'node:tty';
import pino from 'pino';
import { fdWriter, LOG_BUFFER_BYTES } from './log-writer.ts';
import { knownSecrets, REDACTED, redactDeep, registerSecrets, scrubText } from './redact.ts';

export type Logger = pino.Logger;

export interface LoggerOptions {
  /** pino level name; default `info`. */
  level?: string;
  /** Default `stdout`. */
  destination?: 'stdout' | 'stderr';
  /** Human-readable lines (pino-pretty) instead of JSON, e.g. on a TTY. */
  pretty?: boolean;
  /**
   * Write the lines of one turn of the event loop together (the agent: src/log-writer.ts). Off for the
   * one-shot commands, whose log lines must keep their place among what they print themselves.
   */
  coalesce?: boolean;
}


function scrubError(serialized: ReturnType<typeof pino.stdSerializers.err>): unknown {
  return secretValues.size ? redactDeep({ ...serialized }, secretValues) : serialized;
}

/** Secret values to keep out of every log line: every secret this process knows (src/redact.ts). */
const secretValues = knownSecrets();
export { registerSecrets };

export function createLogger(options: LoggerOptions = {}): Logger {
  const fd = options.destination === 'stderr' ? 2 : 1;
  const config: pino.LoggerOptions = {
    level: options.level ?? 'info',
    timestamp: pino.stdTimeFunctions.isoTime,
    // Values under secret-looking keys (token, password, authorization, api_key, cookie…, at any depth:
    // src/redact.ts) and secret values (JobDefinition.secrets, registered by whoever loads jobs) wherever
    // they appear, in fields and in the message. Children inherit both, so a run's logger keeps the
    // parent's redaction. This walk replaces pino's `redact` paths, which cost twice as much per line
    // and reach one level down only.
    formatters: {
      log: (object) => redactDeep(object, secretValues),
      bindings: (bindings) => (secretValues.size ? redactDeep(bindings, secretValues) : bindings),
    },
    // pino applies formatters.bindings to the root only; a child's bindings are scrubbed once serialised.
    onChild(child) {
      const chindings = (child as unknown as Record<symbol, unknown>)[pino.symbols.chindingsSym];
      if (secretValues.size && typeof chindings === 'string') {
        let text = chindings;
        for (const secret of secretValues) text = text.split(JSON.stringify(secret).slice(1, -1)).join(REDACTED);
        (child as unknown as Record<symbol, unknown>)[pino.symbols.chindingsSym] = text;
      }
    },
    // Errors are class instances, which the formatter leaves alone: their message and stack are scrubbed here.
    serializers: { err: (err: Error) => scrubError(pino.stdSerializers.err(err)) },
    hooks: {
      logMethod(args, method) {
        if (secretValues.size) for (let i = 0; i < args.length; i++) if (typeof args[i] === 'string') args[i] = scrubText(args[i] as string, secretValues);
        method.apply(this, args);
      },
    },
  };
  if (options.pretty === true) {
    // Synchronous so that lines written just before process.exit are not lost.
    const colorize = isatty(fd); // not process.stdout.isTTY, which makes the fd non-blocking (see below)
    // Required here, not imported at the top: only a terminal needs it, and it is ~15 ms of every start.
    const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
    // A line about a job starts with its id: the fields below the first line are easy to lose among many jobs.
    const messageFormat = (log: Record<string, unknown>, key: string) => (typeof log.job === 'string' ? `${log.job}: ${String(log[key])}` : String(log[key]));
    return pino(config, pretty({ destination: fd, sync: true, colorize, messageFormat }));
  }
  // The agent's lines never wait for a lagging reader; the one-shot commands' wait 1 ms at a time, not 100 (src/log-writer.ts).
  const writer = fdWriter(fd, { coalesce: options.coalesce === true });
  const logger = pino(config, writer);
  writer.onDropped = (dropped) => logger.warn({ dropped, buffer_bytes: LOG_BUFFER_BYTES }, 'log lines dropped');
  return logger;
}

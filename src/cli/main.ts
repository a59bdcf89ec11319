// The CLI entry: dispatches to one module per command. The only place that decides exit codes.

import { EXIT, UsageError, type Command, type Io } from './command.ts';
import { execCommand } from './exec.ts';
import { nextCommand } from './next.ts';
import { historyCommand } from './history.ts';
import { importCommand } from './import.ts';
import { listCommand } from './list.ts';
import { runCommand } from './run.ts';
import { pauseCommand, resumeCommand } from './pause.ts';
import { backfillCommand } from './backfill.ts';
import { startCommand } from './start.ts';
import { statusCommand } from './status.ts';
import { validateCommand } from './validate.ts';
import { flushLogs } from '../log-writer.ts';
import { VERSION } from '../version.ts';

const COMMANDS: Command[] = [startCommand, validateCommand, nextCommand, listCommand, runCommand, execCommand, pauseCommand, resumeCommand, backfillCommand, historyCommand, statusCommand, importCommand];

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return [
    'Usage: jobsd COMMAND [OPTIONS]',
    '',
    'A scheduler agent: a directory of job files run exactly once across replicas.',
    '',
    'Commands:',
    ...COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`),
    '',
    "Run 'jobsd COMMAND --help' for a command's options; 'jobsd --version' for the version.",
  ].join('\n');
}

let pipeGuarded = false;
/**
 * A reader that stops early (`jobsd history x | head`) closes the pipe: that is the end of the output,
 * not an error with a stack trace. Attached on the first write only (creating process.stdout changes
 * fd 1's mode, which the agent's logger must not meet: src/cli/start.ts).
 */
function quietOnClosedPipe(): void {
  if (pipeGuarded) return;
  pipeGuarded = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(EXIT.ok);
    throw err;
  });
}

export async function main(argv: string[], io?: Partial<Io>): Promise<number> {
  const controller = new AbortController();
  const urgent = new AbortController();
  // The first SIGINT/SIGTERM asks for a graceful stop, the second for a stop now; neither kills the
  // process by itself (Node's default), which would leave runs `running` in the ledger.
  const onSignal = () => (controller.signal.aborted ? urgent.abort() : controller.abort());
  const full: Io = {
    stdout: (text) => {
      quietOnClosedPipe();
      process.stdout.write(text);
    },
    stderr: (text) => process.stderr.write(text),
    env: process.env,
    signal: controller.signal,
    urgent: urgent.signal,
    ...io,
  };
  const [name, ...rest] = argv;
  process.title = 'jobsd'; // what ps and top show, rather than node's MainThread
  if (name === '--version' || name === '-V' || name === 'version') {
    full.stdout(`jobsd ${VERSION}\n`);
    return EXIT.ok;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    full.stdout(overview() + '\n');
    return name === undefined ? EXIT.usage : EXIT.ok;
  }
  const command = COMMANDS.find((c) => c.name === name);
  if (!command) {
    full.stderr(`jobsd: unknown command "${name}"\n\n${overview()}\n`);
    return EXIT.usage;
  }
  if (rest.includes('--help') || rest.includes('-h')) {
    full.stdout(command.usage + '\n');
    return EXIT.ok;
  }
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await command.run(rest, full);
  } catch (error) {
    if (error instanceof UsageError) {
      full.stderr(`jobsd ${command.name}: ${error.message}\n${error.withUsage ? `\n${command.usage}\n` : ''}`);
      return EXIT.usage;
    }
    flushLogs(); // the agent's last log lines before the error, not after it
    full.stderr(`jobsd ${command.name}: ${(error as Error).stack ?? String(error)}\n`);
    return EXIT.failed;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

// Peer for the idle-cost benchmark: graphile-worker with one crontab entry, on its defaults.
import { run } from 'graphile-worker';

const runner = await run({
  connectionString: process.argv[2]!,
  concurrency: 1,
  crontab: '0 3 * * * nightly',
  taskList: { nightly: async () => undefined },
  logger: undefined,
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => void runner.stop().then(() => process.exit(0)));

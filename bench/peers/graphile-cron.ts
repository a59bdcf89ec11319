// Peer for the precision benchmark: graphile-worker's crontab, N entries ('* * * * *'), one process of
// several. Prints a JSON line per job started: {job, startedMs, scheduledMs}.
import { run } from 'graphile-worker';

const [url, count] = [process.argv[2]!, Number(process.argv[3])];
const crontab = Array.from({ length: count }, (_, i) => `* * * * * tick ?id=job-${i} {job:"job-${i}"}`).join('\n');
const runner = await run({
  connectionString: url,
  concurrency: 10,
  crontab,
  taskList: {
    tick: async (payload) => {
      const p = payload as { job: string; _cron?: { ts: string } };
      process.stdout.write(JSON.stringify({ job: p.job, startedMs: Date.now(), scheduledMs: p._cron ? Date.parse(p._cron.ts) : undefined }) + '\n');
    },
  },
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => void runner.stop().then(() => process.exit(0)));

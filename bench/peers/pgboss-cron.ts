// Peer for the precision benchmark: pg-boss's own schedule() with its most aggressive settings, N schedules
// on one queue ('* * * * *'), one process of several. Prints a JSON line per job started: {job, startedMs}.
import { PgBoss } from 'pg-boss';

const [url, count] = [process.argv[2]!, Number(process.argv[3])];
const boss = new PgBoss({
  connectionString: url,
  schema: 'peer_pgboss_cron',
  cronWorkerIntervalSeconds: 1,
  cronMonitorIntervalSeconds: 1,
  clockMonitorIntervalSeconds: 1,
});
boss.on('error', (err) => process.stderr.write(`pg-boss: ${String(err)}\n`));
await boss.start();
await boss.createQueue('minutely');
for (let i = 0; i < count; i++) await boss.schedule('minutely', '* * * * *', { job: `job-${i}` }, { key: `job-${i}` });
await boss.work<{ job: string }>('minutely', { pollingIntervalSeconds: 0.5, batchSize: 50 }, async (jobs) => {
  const startedMs = Date.now();
  for (const j of jobs) process.stdout.write(JSON.stringify({ job: j.data.job, startedMs }) + '\n');
});
process.stdout.write('ready\n');
process.on('SIGTERM', () => void boss.stop({ graceful: false }).then(() => process.exit(0)));

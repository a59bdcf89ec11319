// Peer for the idle-cost benchmark: pg-boss with one cron schedule and a worker, on its defaults.
import { PgBoss } from 'pg-boss';

const boss = new PgBoss({ connectionString: process.argv[2]!, schema: 'peer_pgboss' });
boss.on('error', (err) => process.stderr.write(`pg-boss: ${String(err)}\n`));
await boss.start();
await boss.createQueue('nightly');
await boss.schedule('nightly', '0 3 * * *');
await boss.work('nightly', async () => undefined);
process.stdout.write('ready\n');
process.on('SIGTERM', () => void boss.stop({ graceful: false }).then(() => process.exit(0)));

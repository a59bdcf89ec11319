// Peer for the throughput benchmark: graphile-worker draining a backlog of jobs whose task is the same `http`
// GET as jobsd's (to the benchmark's local server). `fill URL COUNT TARGET` adds COUNT jobs and exits;
// `work URL CONCURRENCY` runs a worker on them (prints `ready` once started).
import { makeWorkerUtils, run } from 'graphile-worker';

const [mode, url] = [process.argv[2], process.argv[3]!];
if (mode === 'fill') {
  const [count, target] = [Number(process.argv[4]), process.argv[5]!];
  const utils = await makeWorkerUtils({ connectionString: url });
  await utils.migrate();
  for (let i = 0; i < count; i += 5_000) {
    const specs = Array.from({ length: Math.min(5_000, count - i) }, (_, k) => ({ identifier: 'hit', payload: { url: `${target}/graphile/${i + k}` } }));
    await utils.addJobs(specs);
  }
  await utils.release();
} else {
  const runner = await run({
    connectionString: url,
    concurrency: Number(process.argv[4]),
    maxPoolSize: Number(process.argv[4]) + 2, // graphile-worker warns below its concurrency
    noHandleSignals: true,
    logger: undefined,
    taskList: {
      hit: async (payload) => {
        const res = await fetch((payload as { url: string }).url);
        await res.text();
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
      },
    },
  });
  process.stdout.write('ready\n');
  process.on('SIGTERM', () => void runner.stop().then(() => process.exit(0)));
}

// A throwaway PostgreSQL for deploy/docker/test-image.sh, outside the image: the project's embedded
// server (src/db/embedded.ts) in DIR. Writes its URL (which holds the password) to DIR/url, mode 600,
// then runs until SIGTERM or SIGINT, when it stops the server and exits 0.
//   node deploy/docker/host-postgres.ts DIR
import { writeFileSync, renameSync } from 'node:fs';
import path from 'node:path';
import { startEmbeddedPostgres } from '../../src/db/embedded.ts';

const dir = process.argv[2];
if (!dir) {
  process.stderr.write('usage: node deploy/docker/host-postgres.ts DIR\n');
  process.exit(2);
}
const server = await startEmbeddedPostgres(dir, {
  info: (m) => process.stderr.write(`host-postgres: ${m}\n`),
  warn: (m) => process.stderr.write(`host-postgres: ${m}\n`),
});
const file = path.join(dir, 'url');
writeFileSync(`${file}.tmp`, `${server.url}\n`, { mode: 0o600 });
renameSync(`${file}.tmp`, file);
let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  server.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`host-postgres: stopping failed: ${String(err)}\n`);
      process.exit(1);
    },
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
setInterval(() => undefined, 1 << 30);

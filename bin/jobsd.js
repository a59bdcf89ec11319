#!/usr/bin/env -S node --max-semi-space-size=8 --no-memory-reducer
// The V8 flags of every launcher: src/cli/node-flags.ts.
// jobsd runs its TypeScript sources directly, which needs Node.js 24 (type stripping).
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  process.stderr.write(
    `jobsd needs Node.js 24 or later; this is ${process.version}.\n` +
      'Run it through npm in the project (npm start, npx jobsd ...), which uses the Node 24 that npm install brought, or install Node 24.\n',
  );
  process.exit(2);
}
// Node's compile cache keeps the type-stripped, compiled modules on disk: a start after the first skips
// about 200 ms of compiling. It lives in a directory of this user's: $NODE_COMPILE_CACHE, systemd's
// $CACHE_DIRECTORY, else $XDG_CACHE_HOME/jobsd or ~/.cache/jobsd; never Node's default in the shared /tmp,
// where another user could plant it. Best effort: an unwritable directory only leaves the cache off.
const { enableCompileCache } = await import('node:module');
const { homedir } = await import('node:os');
const { join } = await import('node:path');
try {
  const systemd = process.env.CACHE_DIRECTORY?.split(':')[0];
  const cacheHome = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  enableCompileCache?.(process.env.NODE_COMPILE_CACHE || (systemd ? join(systemd, 'node-compile-cache') : join(cacheHome, 'jobsd', 'node-compile-cache')));
} catch {
  // no home directory: no cache
}
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { blockingDirectory } from '../../src/db/embedded-access.ts';

test('blockingDirectory: the first directory on the way that the user may not search', () => {
  const user = { uid: 101, gid: 104 };
  const modes: Record<string, { mode: number; uid: number; gid: number }> = {
    '/': { mode: 0o755, uid: 0, gid: 0 },
    '/tmp': { mode: 0o1777, uid: 0, gid: 0 },
    '/tmp/tmp.abc': { mode: 0o700, uid: 0, gid: 0 },
    '/tmp/tmp.abc/jobsd': { mode: 0o755, uid: 0, gid: 0 },
    '/srv': { mode: 0o750, uid: 0, gid: 104 },
    '/srv/own': { mode: 0o700, uid: 101, gid: 0 },
    '/srv/other': { mode: 0o770, uid: 0, gid: 0 },
  };
  const stat = (p: string) => modes[p]!;
  assert.equal(blockingDirectory('/tmp/tmp.abc/jobsd', user, stat), '/tmp/tmp.abc');
  assert.equal(blockingDirectory('/tmp', user, stat), undefined);
  assert.equal(blockingDirectory('/srv/own', user, stat), undefined, 'group and owner bits count');
  assert.equal(blockingDirectory('/srv/other', user, stat), '/srv/other');
});

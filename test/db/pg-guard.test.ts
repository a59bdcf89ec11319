import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { guardDiscardedPgClients } from '../../src/db/pg-guard.ts';

test('an error on a pg client whose listeners were all removed (as pg-boss does when its LISTEN connection fails) does not end the process', () => {
  const unguarded = new pg.Client();
  unguarded.removeAllListeners();
  assert.throws(() => unguarded.emit('error', new Error('terminating connection due to administrator command')), /administrator command/, 'plain EventEmitter behaviour: this is what crashed the agent');
  guardDiscardedPgClients();
  guardDiscardedPgClients(); // idempotent
  const guarded = new pg.Client();
  guarded.removeAllListeners();
  assert.doesNotThrow(() => guarded.emit('error', new Error('terminating connection due to administrator command')));
  const live = new pg.Client();
  const seen: unknown[] = [];
  live.on('error', (e) => seen.push(e));
  live.emit('error', new Error('x'));
  assert.equal(seen.length, 1, 'clients in use still report their errors');
});

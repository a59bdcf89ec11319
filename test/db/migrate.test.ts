import assert from 'node:assert/strict';
import { test } from 'node:test';
import pg from 'pg';
import { migrate, migrations } from '../../src/db/migrate.ts';
import { freshDatabase } from '../helpers/db.ts';

test('migrations apply once, even when replicas start together', async () => {
  const pool = new pg.Pool({ connectionString: await freshDatabase('migrate'), max: 4 });
  try {
    const results = await Promise.all([migrate(pool), migrate(pool), migrate(pool)]);
    assert.deepEqual(results.flat().sort(), migrations().map((m) => m.name).sort(), 'each migration applied by exactly one caller');
    assert.deepEqual(await migrate(pool), []);
    const tables = await pool.query<{ table_name: string }>("SELECT table_name FROM information_schema.tables WHERE table_schema = 'jobsd' ORDER BY 1");
    assert.deepEqual(tables.rows.map((r) => r.table_name), ['backfills', 'dispatcher', 'fires', 'instance_jobs', 'instances', 'migrations', 'pauses']);
  } finally {
    await pool.end();
  }
});

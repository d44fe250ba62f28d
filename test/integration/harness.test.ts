import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import test from 'ava';
import pg from 'pg';
import { createDatabase } from '../support/backing.js';
import { cleanStaleRuns, RUNS_DIR } from '../support/processes.js';

// A run killed midway leaves its processes and databases; the next run removes them.
test('when a run died midway, then the next run kills what it started and drops its databases', async (t) => {
  const deadOwner = spawnSync(process.execPath, ['-e', '0']).pid;
  const orphan = spawn('sleep', ['600'], { detached: true, stdio: 'ignore' });
  orphan.unref();
  const db = await createDatabase('orphaned');
  const dir = path.join(RUNS_DIR, `dead-${Date.now()}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'owner.pid'), String(deadOwner));
  writeFileSync(path.join(dir, 'pids'), `${orphan.pid}\n`);
  writeFileSync(path.join(dir, 'databases'), `postgres://postgres@${db.host}:${db.port}/postgres ${db.name}\n`);

  t.true((await cleanStaleRuns()) >= 1);

  await new Promise((resolve) => setTimeout(resolve, 200));
  t.throws(() => process.kill(orphan.pid!, 0), undefined, 'the orphaned process is gone');
  t.true(existsSync(path.join(dir, 'cleaned')), 'marked cleaned (its logs stay a while)');
  const client = new pg.Client({ connectionString: `postgres://postgres@${db.host}:${db.port}/postgres` });
  await client.connect();
  const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [db.name]);
  await client.end();
  t.is(rowCount, 0, 'the orphaned database is dropped');
});

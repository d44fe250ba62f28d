// Checks Redis and PostgreSQL for a local run and creates the database.
import net from 'node:net';
import pg from 'pg';
import { prepareDaprTables } from './lib/database.js';

function reachable(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Fails with a readable message when a store is missing; creates the database (with Dapr's metadata table) when it is not there yet. */
export async function prepareStores({
  redisHost,
  redisPort,
  database,
}: {
  redisHost: string;
  redisPort: number;
  database: string;
}): Promise<void> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(database)) throw new Error(`database name ${database} is not a plain lower-case identifier`);
  if (!(await reachable(redisHost, redisPort))) {
    throw new Error(`Redis is not listening on ${redisHost}:${redisPort}. Start it, e.g.: redis-server --daemonize yes`);
  }
  const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
  try {
    await client.connect();
  } catch (err) {
    throw new Error(`PostgreSQL is not reachable on localhost:5432 as user postgres (${(err as Error).message}).`);
  }
  try {
    const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (!rowCount) await client.query(`CREATE DATABASE ${database}`);
  } finally {
    await client.end();
  }
  await prepareDaprTables(`postgres://postgres@127.0.0.1:5432/${database}`);
}

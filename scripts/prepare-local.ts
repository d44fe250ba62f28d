// Checks Redis and PostgreSQL for a local run and creates the database.
import net from 'node:net';
import pg from 'pg';

const database = 'recommend_recipe';

function reachable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.end();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

if (!(await reachable(6379))) {
  console.error('Redis is not listening on localhost:6379. Start it, e.g.: redis-server --daemonize yes');
  process.exit(1);
}
const client = new pg.Client({ host: '127.0.0.1', port: 5432, user: 'postgres', database: 'postgres' });
try {
  await client.connect();
} catch (err) {
  console.error(`PostgreSQL is not reachable on localhost:5432 as user postgres (${(err as Error).message}).`);
  process.exit(1);
}
const { rowCount } = await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
if (!rowCount) {
  await client.query(`CREATE DATABASE ${database}`);
  console.log(`created database ${database}`);
}
await client.end();

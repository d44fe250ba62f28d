import pg from 'pg';

/**
 * Dapr's state.postgresql creates its metadata table with `CREATE TABLE IF
 * NOT EXISTS` before it takes its migration lock, and retries only a unique
 * violation (23505): two sidecars starting at once on a fresh database can
 * also get 42710 (`type "dapr_metadata" already exists`), which is fatal to
 * one of them. Creating the table (the same DDL as components-contrib
 * v1.18's postgres migrations) when the database is made leaves the sidecars
 * nothing to race on; the rest of Dapr's migrations run under its lock.
 */
export const DAPR_METADATA_TABLE = `CREATE TABLE IF NOT EXISTS dapr_metadata (
  key text NOT NULL PRIMARY KEY,
  value text NOT NULL
)`;

/** Makes a fresh database ready for any number of sidecars to start on it at once. */
export async function prepareDaprTables(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(DAPR_METADATA_TABLE);
  } finally {
    await client.end();
  }
}

// What a local run (`npm start`, scripts/local/run.ts) keeps in its run
// directory, for the scripts that talk to it (check, deadletters, token).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './sidecar.js';

/** The run directory: LOCAL_RUN_DIR, or .tmp. */
export const localRunDir = () => path.resolve(ROOT, process.env.LOCAL_RUN_DIR ?? '.tmp');

/**
 * The names of one app's tokens in local.env: the app sends `<APP>_DAPR_API_TOKEN`
 * to its sidecar, the sidecar sends `<APP>_APP_API_TOKEN` to the app. Every app
 * has its own pair, so one app's token opens no other app's sidecar.
 */
export function tokenNames(appId: string): { daprApiToken: string; appApiToken: string } {
  const prefix = appId.toUpperCase().replace(/[^A-Z0-9]/g, '_');
  return { daprApiToken: `${prefix}_DAPR_API_TOKEN`, appApiToken: `${prefix}_APP_API_TOKEN` };
}

/** local.env: NAME=value lines (the JWT signing key and every app's tokens). */
export function readLocalSecrets(runDir = localRunDir()): Record<string, string> {
  const file = path.join(runDir, 'local.env');
  if (!existsSync(file)) return {};
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => l.split(/=(.*)/s, 2) as [string, string]),
  );
}

export function writeLocalSecrets(secrets: Record<string, string>, runDir = localRunDir()): void {
  writeFileSync(
    path.join(runDir, 'local.env'),
    `${Object.entries(secrets)
      .map(([k, v]) => `${k}=${v}`)
      .join('\n')}\n`,
    { mode: 0o600 },
  );
}

/** What a running `npm start` wrote down once it was ready (run/local.json). */
export interface LocalRun {
  gatewayUrl: string;
  /** Each app's sidecar HTTP URL, by app id. */
  sidecars: Record<string, string>;
  myrecipeDatabaseUrl: string;
  /** host:port of recipe's Redis store. */
  recipeRedis: string;
  /** host:port of the Redis Streams broker (recipeRedis when absent: the local run uses one Redis). */
  pubsubRedis?: string;
}

export function readLocalRun(runDir = localRunDir()): LocalRun | undefined {
  const file = path.join(runDir, 'run', 'local.json');
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as LocalRun) : undefined;
}

/** An app's Dapr API token in a local run (what its sidecar accepts). */
export function localApiToken(appId: string, runDir = localRunDir()): string | undefined {
  return readLocalSecrets(runDir)[tokenNames(appId).daprApiToken];
}

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import test from 'ava';

/** A GET on a kept-alive connection, with the answer's Connection header (fetch hides it). */
const get = (port: number, path: string) =>
  new Promise<{ status: number; connection: string | undefined }>((resolve, reject) => {
    const agent = new http.Agent({ keepAlive: true });
    http
      .get({ host: '127.0.0.1', port, path, agent }, (res) => {
        res.resume();
        res.on('end', () => resolve({ status: res.statusCode!, connection: res.headers.connection }));
      })
      .on('error', reject);
  });

// A real process: SIGTERM while a slow request is in flight.
const server = `
import Router from '@koa/router';
import { createLogger, createServiceApp, serve } from '@recipe/shared';
const router = new Router();
router.get('/slow', async (ctx) => { await new Promise((r) => setTimeout(r, 800)); ctx.body = { done: true }; });
const log = createLogger('shutdown-test', 'silent');
const app = createServiceApp({ service: 'shutdown-test', log, router, readiness: {} });
const s = await serve(app, { port: 0, host: '127.0.0.1', log, shutdownTimeoutMs: 5000, drainMs: 400 });
console.log(JSON.stringify({ port: s.address().port }));
`;

test('on SIGTERM the service takes requests a moment longer (closing each connection after it), finishes the ones in flight, stops taking new ones and exits 0', async (t) => {
  const child = spawn(process.execPath, ['--input-type=module', '-e', server], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(child.stdout, 'data')) as [Buffer];
  const { port } = JSON.parse(line.toString()) as { port: number };
  const inFlight = fetch(`http://127.0.0.1:${port}/slow`);
  await new Promise((r) => setTimeout(r, 200));
  child.kill('SIGTERM');
  const exited = once(child, 'exit');
  await new Promise((r) => setTimeout(r, 100));
  // The sidecar may still send on its kept-alive connections: answered, and the connection closed by the answer.
  t.deepEqual(await get(port, '/healthz'), { status: 200, connection: 'close' });
  const res = await inFlight;
  t.is(res.status, 200);
  t.deepEqual(await res.json(), { done: true });
  await t.throwsAsync(() => fetch(`http://127.0.0.1:${port}/healthz`), undefined, 'no new connections after SIGTERM');
  const started = Date.now();
  const [code] = (await exited) as [number];
  t.is(code, 0);
  t.true(Date.now() - started < 2_000, 'it did not wait for the shutdown timeout');
});

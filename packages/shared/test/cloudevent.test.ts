import test from 'ava';
import Koa from 'koa';
import { z } from 'zod';
import { AppError, createLogger, jsonBody, topicHandler } from '../src/index.js';

const log = createLogger('test', 'silent');
const schema = z.object({ n: z.number() });

async function deliver(handle: (data: { n: number }) => Promise<unknown>, body: unknown) {
  const app = new Koa();
  app.use(jsonBody(1024));
  app.use(topicHandler(schema, handle, log));
  const server = app.listen(0);
  const { port } = server.address() as { port: number };
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents+json' },
      body: JSON.stringify(body),
    });
    return { status: res.status, body: await res.json() };
  } finally {
    server.close();
  }
}

test('when the handler succeeds, then the delivery is acknowledged', async (t) => {
  const seen: number[] = [];
  const reply = await deliver(async (data) => seen.push(data.n), { id: 'e1', data: { n: 1 } });
  t.deepEqual(reply, { status: 200, body: { status: 'SUCCESS' } });
  t.deepEqual(seen, [1]);
});

test('when the event data does not match its schema, then it is dropped to the dead-letter topic without calling the handler', async (t) => {
  let called = false;
  const reply = await deliver(async () => (called = true), { id: 'e2', data: { n: 'not a number' } });
  t.deepEqual(reply.body, { status: 'DROP' });
  t.false(called);
});

test('when the envelope has no id, then it is dropped', async (t) => {
  const reply = await deliver(async () => undefined, { data: { n: 1 } });
  t.deepEqual(reply.body, { status: 'DROP' });
});

test('when the handler fails for a transient reason, then Dapr is asked to retry', async (t) => {
  const reply = await deliver(
    async () => {
      throw new Error('database down');
    },
    { id: 'e3', data: { n: 1 } },
  );
  t.deepEqual(reply.body, { status: 'RETRY' });
});

test('when the handler rejects the event itself (4xx), then it is dropped, not retried', async (t) => {
  const reply = await deliver(
    async () => {
      throw new AppError(403, 'X.FORBIDDEN', 'impossible event');
    },
    { id: 'e4', data: { n: 1 } },
  );
  t.deepEqual(reply.body, { status: 'DROP' });
});

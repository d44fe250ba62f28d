import http from 'node:http';
import test, { type ExecutionContext } from 'ava';
import {
  createLogger,
  createSidecar,
  DaprError,
  invocationOutcome,
  isBreakerRefusal,
  retryOnConflict,
  transportFailure,
} from '../src/index.js';

const sidecarAnswer = (status: number, body: unknown, kind: 'app' | 'dapr' = 'dapr') =>
  new DaprError(kind, status, body, `call: ${status} ${JSON.stringify(body)}`);

test('an ETag mismatch inside a transaction is a conflict even though Dapr answers 500; other store errors are not', (t) => {
  for (const message of [
    'error while executing state transaction: possible etag mismatch. error from state store: ',
    'failed to set key recipe||r1: ERR_STATE_ETAG_MISMATCH',
    'no item was updated',
  ])
    t.true(sidecarAnswer(500, { errorCode: 'ERR_STATE_TRANSACTION', message }).isConflict, message);
  t.true(sidecarAnswer(409, undefined).isConflict, 'a 409');
  t.false(sidecarAnswer(500, { errorCode: 'ERR_STATE_TRANSACTION', message: 'connection refused' }).isConflict);
  t.false(sidecarAnswer(500, { errorCode: 'ERR_DIRECT_INVOKE', message: 'circuit breaker is open' }).isConflict);
});

test('a call the sidecar never answered: a refused connection is unreachable, a pool timeout a timeout', (t) => {
  const refused = transportFailure('invoke', Object.assign(new Error('connect failed'), { cause: { code: 'ECONNREFUSED' } }), 1000);
  t.is(refused.kind, 'unreachable');
  t.is(invocationOutcome(refused), 'not-sent', 'nothing left this process');
  const reset = transportFailure('invoke', Object.assign(new Error('other side closed'), { code: 'UND_ERR_SOCKET' }), 1000);
  t.is(reset.kind, 'unreachable');
  t.is(invocationOutcome(reset), 'unknown', 'cut mid-call: it may have been applied');
  const slow = transportFailure('invoke', Object.assign(new Error('Headers Timeout Error'), { name: 'HeadersTimeoutError' }), 1000);
  t.is(slow.kind, 'timeout');
  t.regex(slow.message, /no answer within 1000 ms/);
});

test('retryOnConflict repeats lost races and gives up on other errors at once', async (t) => {
  let attempts = 0;
  const result = await retryOnConflict(async () => {
    if (++attempts < 3) throw new DaprError('dapr', 409, undefined, 'conflict');
    return 'done';
  });
  t.is(result, 'done');
  t.is(attempts, 3);

  let failures = 0;
  await t.throwsAsync(() =>
    retryOnConflict(async () => {
      failures++;
      throw new DaprError('unreachable', undefined, undefined, 'down');
    }),
  );
  t.is(failures, 1);
});

test('the keyed lock runs sections of one key one at a time, and of different keys side by side', async (t) => {
  const { createKeyedLock } = await import('../src/index.js');
  const withLock = createKeyedLock();
  const events: string[] = [];
  const section = (name: string, ms: number) => async () => {
    events.push(`${name} start`);
    await new Promise((r) => setTimeout(r, ms));
    events.push(`${name} end`);
    if (name === 'a1') throw new Error('a1 fails');
    return name;
  };
  const results = await Promise.allSettled([
    withLock('a', section('a1', 30)),
    withLock('a', section('a2', 10)),
    withLock('b', section('b1', 5)),
  ]);
  t.deepEqual(
    results.map((r) => r.status),
    ['rejected', 'fulfilled', 'fulfilled'],
  );
  t.true(events.indexOf('a1 end') < events.indexOf('a2 start'), 'a2 waited for a1, even though a1 failed');
  t.true(events.indexOf('b1 end') < events.indexOf('a1 end'), 'b did not wait for a');
});

/** A sidecar client over a stand-in for daprd's HTTP API that answers as `handle` says. */
async function sidecarOver(t: ExecutionContext, handle: http.RequestListener) {
  const server = http.createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => server.close());
  return createSidecar({ host: '127.0.0.1', httpPort: (server.address() as { port: number }).port, log: createLogger('test', 'silent') });
}

test('a state read is one key with its ETag from the header; a store failure is an error, never "no such key"', async (t) => {
  const sidecar = await sidecarOver(t, (req, res) => {
    if (req.url === '/v1.0/state/store/found') {
      res.writeHead(200, { 'content-type': 'application/json', etag: '7' }).end('{"v":1}');
    } else if (req.url === '/v1.0/state/store/missing') {
      res.writeHead(204).end();
    } else {
      res
        .writeHead(500, { 'content-type': 'application/json' })
        .end(JSON.stringify({ errorCode: 'ERR_STATE_GET', message: 'failed to connect to `host=127.0.0.1 user=postgres`' }));
    }
  });
  t.deepEqual(await sidecar.getState('store', 'found'), { value: { v: 1 }, etag: '7' });
  t.is(await sidecar.getState('store', 'missing'), undefined);
  const err = await t.throwsAsync(() => sidecar.getState('store', 'broken'));
  t.true(err instanceof DaprError);
  t.regex(err.message, /failed to connect/);
});

test('a 2xx whose body is cut short is no answer: its outcome is unknown, never a success with no result', async (t) => {
  const sidecar = await sidecarOver(t, (req, res) => {
    const answers: Record<string, [number, string]> = {
      '/v1.0/invoke/myrecipe/method/whole': [201, '{"recipeId":"r1"}'],
      '/v1.0/invoke/myrecipe/method/cut': [201, '{"recipeId":"r'],
      '/v1.0/invoke/myrecipe/method/empty': [201, ''],
      '/v1.0/invoke/recipe/method/none': [204, ''],
    };
    const [status, body] = answers[req.url ?? ''] ?? [404, ''];
    res.writeHead(status, body ? { 'content-type': 'application/json' } : {}).end(body);
  });
  t.deepEqual(await sidecar.invoke('myrecipe', 'whole', { method: 'POST', body: {} }), { recipeId: 'r1' });
  t.is(await sidecar.invoke('recipe', 'none', { method: 'POST', body: {} }), undefined, 'a 204 has no body to cut');
  for (const method of ['cut', 'empty']) {
    const err = await t.throwsAsync(() => sidecar.invoke('myrecipe', method, { method: 'POST', body: {} }));
    t.true(err instanceof DaprError, method);
    t.is(invocationOutcome(err), 'unknown', `${method}: it may have been applied`);
    t.regex(err.message, /body cut short/);
  }
});

const invokeError = (text: string, status = 500) =>
  new DaprError(
    'dapr',
    status,
    { errorCode: 'ERR_DIRECT_INVOKE', message: `failed to invoke, id: recipe, err: ${text}` },
    `invoke: ${status}`,
  );

test("Dapr's refusals that cannot have reached the callee app are 'not-sent'", (t) => {
  for (const text of [
    'circuit breaker is open',
    'too many requests',
    'no host found with the given ID',
    "couldn't find service: recipe",
    'app is not in a healthy state',
    'app channel is not initialized',
    'error invoking app channel: Post "http://127.0.0.1:8082/x": dial tcp 127.0.0.1:8082: connect: connection refused',
    'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:50002: connect: connection refused"',
  ]) {
    t.is(invocationOutcome(invokeError(text)), 'not-sent', text);
  }
  t.is(invocationOutcome(invokeError('access control policy has denied access', 403)), 'not-sent', 'access control');
  t.is(
    invocationOutcome(new DaprError('unreachable', undefined, undefined, 'invoke: ECONNREFUSED fetch failed')),
    'not-sent',
    'our own sidecar refused the connection',
  );
});

test("failures that may have reached the app are 'unknown'; the app's own answers are 'answered'", (t) => {
  t.is(invocationOutcome(invokeError('error invoking app channel: EOF')), 'unknown');
  t.is(invocationOutcome(invokeError('context deadline exceeded')), 'unknown');
  t.is(invocationOutcome(new DaprError('timeout', undefined, undefined, 'no answer within 15000 ms')), 'unknown');
  t.is(invocationOutcome(new DaprError('app', 404, { error: { code: 'RECIPE.NOT_FOUND', message: 'no such recipe' } }, '404')), 'answered');
  t.is(invocationOutcome(new Error('anything else')), 'unknown');
});

test('breaker refusals are told apart: open, or half-open with its trial call out', (t) => {
  t.true(isBreakerRefusal(invokeError('circuit breaker is open')));
  t.true(isBreakerRefusal(invokeError('too many requests')));
  t.false(isBreakerRefusal(invokeError('no host found with the given ID')));
});

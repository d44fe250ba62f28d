import test from 'ava';
import { AppError, RetryLater, createLogger, createOutbox, type Outbox } from '../src/index.js';
import { fakeSidecar } from './fake-sidecar.js';

const log = createLogger('test', 'silent');
const event = { topic: 'Registered' as const, id: 'Registered:r1', data: { recipeId: 'r1', memberId: 'm', title: 't', registeredAt: '2026-01-01T00:00:00Z' } };

function setup(now = new Date('2026-01-01T00:00:00Z')) {
  const fake = fakeSidecar();
  const clock = { now };
  const outbox: Outbox = createOutbox({ sidecar: fake.sidecar, store: 'store', pubsub: 'pubsub', appId: 'app', topics: ['Registered'], log, directPublish: false, clock: () => clock.now });
  const intent = () => ({ id: 'i', topic: 'app-outbox', type: '', data: fake.published.find((p) => p.topic === 'app-outbox')!.data as { key: string; createdAt: string } });
  return { fake, outbox, clock, intent };
}

test('the intent goes out before the transaction, which stores the state change and the event together', async (t) => {
  const { fake, outbox } = setup();
  await outbox.commit([{ operation: 'upsert', key: 'thing', value: { v: 1 } }], event);
  t.deepEqual(fake.published.map((p) => p.topic), ['app-outbox']);
  t.deepEqual(fake.outbox, [{ topic: 'Registered', id: 'Registered:r1', data: event.data }]);
  t.truthy(fake.state.get('store/thing'));
});

test('the relay publishes the event of a committed record, with its id', async (t) => {
  const { fake, outbox, intent } = setup();
  await outbox.commit([], event);
  await outbox.relay(intent());
  t.deepEqual(fake.published.at(-1), { topic: 'Registered', data: event.data, id: 'Registered:r1' });
});

test('an intent whose transaction has not committed yet is retried; once old, it is dropped', async (t) => {
  const { fake, outbox, clock, intent } = setup();
  fake.failures.transaction = new Error('conflict');
  await t.throwsAsync(() => outbox.commit([], event));
  await t.throwsAsync(() => outbox.relay(intent()), { instanceOf: RetryLater });
  clock.now = new Date(clock.now.getTime() + 61_000);
  await outbox.relay(intent());
  t.deepEqual(fake.published.map((p) => p.topic), ['app-outbox'], 'no event for a transaction that never happened');
});

test('a record for a topic the app does not own is refused (dead-lettered)', async (t) => {
  const { fake, outbox } = setup();
  await fake.sidecar.saveState('store', 'outbox:x', { topic: 'Deleted', id: 'x', data: {} });
  await t.throwsAsync(() => outbox.relay({ id: 'i', topic: 'app-outbox', type: '', data: { key: 'outbox:x', createdAt: new Date().toISOString() } }), { instanceOf: AppError });
});

import test from 'ava';
import { RetryLater, createLogger, createOutbox, type Intent, type IntentResolver, type Settlement } from '../src/index.js';
import { fakeSidecar } from './fake-sidecar.js';

const log = createLogger('test', 'silent');
const event = {
  topic: 'Registered' as const,
  id: 'Registered:r1',
  data: { recipeId: 'r1', memberId: 'm', title: 't', registeredAt: '2026-01-01T00:00:00Z' },
};

/** An outbox whose resolver answers what the test says the state shows. */
function setup() {
  const fake = fakeSidecar();
  const clock = { now: new Date('2026-01-01T00:00:00Z') };
  const state = { settled: { kind: 'pending' } as Settlement, abandoned: [] as string[] };
  const resolver: IntentResolver = {
    settle: async () => state.settled,
    abandon: async (intent) => {
      state.abandoned.push(intent.id);
      return { kind: 'void' };
    },
  };
  const outbox = createOutbox({
    sidecar: fake.sidecar,
    pubsub: 'pubsub',
    appId: 'app',
    log,
    resolver,
    clock: () => clock.now,
    inlineWaitMs: 500,
    settleAfterMs: 30_000,
  });
  const delivered = (topic: string) => fake.published.filter((p) => p.topic === topic).map((p) => p.data as Intent);
  return { fake, outbox, clock, state, delivered };
}

test("an intent names the attempt and what it is about, and goes to the app's outbox topic", async (t) => {
  const { fake, outbox } = setup();
  const intent = await outbox.intend('Registered', { recipeId: 'r1' });
  t.regex(intent.id, /^[0-9a-f-]{36}$/);
  t.deepEqual(fake.published, [{ topic: 'app-outbox', data: intent, id: undefined }]);
});

test('the relay publishes the event the state shows, once, with its id', async (t) => {
  const { fake, outbox, state, delivered } = setup();
  await outbox.intend('Registered', { recipeId: 'r1' });
  state.settled = { kind: 'committed', event };
  await outbox.relay(delivered('app-outbox')[0]!);
  t.deepEqual(fake.published.slice(1), [{ topic: 'Registered', data: event.data, id: 'Registered:r1' }]);
});

test('the relay waits for an attempt in this process to finish, and then looks at once', async (t) => {
  const { fake, outbox, state, delivered } = setup();
  const intent = await outbox.intend('Registered', { recipeId: 'r1' });
  const relayed = outbox.relay(delivered('app-outbox')[0]!);
  await new Promise((resolve) => setTimeout(resolve, 20));
  state.settled = { kind: 'committed', event };
  outbox.finished(intent);
  await relayed;
  t.deepEqual(
    fake.published.map((p) => p.topic),
    ['app-outbox', 'Registered'],
  );
});

test('an intent still undecided after the bounded wait moves to the late topic, never answering RETRY on the outbox topic', async (t) => {
  const { fake, outbox, delivered } = setup();
  await outbox.intend('Registered', { recipeId: 'r1' });
  await outbox.relay(delivered('app-outbox')[0]!);
  t.deepEqual(
    fake.published.map((p) => p.topic),
    ['app-outbox', 'app-outbox-late'],
  );
});

test('on the late topic an undecided intent is retried until its settle time, then its attempt is abandoned', async (t) => {
  const { fake, outbox, clock, state, delivered } = setup();
  const intent = await outbox.intend('Registered', { recipeId: 'r1' });
  await outbox.relay(delivered('app-outbox')[0]!);
  const late = delivered('app-outbox-late')[0]!;
  await t.throwsAsync(() => outbox.relayLate(late), { instanceOf: RetryLater });
  t.deepEqual(state.abandoned, []);
  clock.now = new Date(clock.now.getTime() + 31_000);
  await outbox.relayLate(late);
  t.deepEqual(state.abandoned, [intent.id]);
  t.deepEqual(
    fake.published.map((p) => p.topic),
    ['app-outbox', 'app-outbox-late'],
    'nothing published for an attempt that never committed',
  );
});

test('a void attempt ends quietly, wherever it is settled', async (t) => {
  const { fake, outbox, state, delivered } = setup();
  await outbox.intend('Registered', { recipeId: 'r1' });
  state.settled = { kind: 'void' };
  await outbox.relay(delivered('app-outbox')[0]!);
  t.deepEqual(
    fake.published.map((p) => p.topic),
    ['app-outbox'],
  );
});

test('when the intent cannot be published, the attempt does not start', async (t) => {
  const { fake, outbox } = setup();
  fake.failures.publishTo.add('app-outbox');
  await t.throwsAsync(() => outbox.intend('Registered', { recipeId: 'r1' }));
});

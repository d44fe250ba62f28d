import test from 'ava';
import { sleep } from '../support/processes.js';
import { describe, startTraffic } from '../support/traffic.js';
import { verifyQuiet } from '../support/verify.js';
import { useSystem } from '../support/use-system.js';

// A hung subscriber: deliveries time out and are redelivered (duplicates), yet counts stay exact.
const system = useSystem(test);

test('when the read model app hangs (SIGSTOP) past the processing timeout and resumes, then duplicates are tolerated and counts are exact', async (t) => {
  const traffic = await startTraffic(system());
  await sleep(3_000);
  await system().all('mypage', (r) => r.signalApp('SIGSTOP'));
  // Longer than the pub/sub processingTimeout (15 s): Redis Streams hands the
  // in-flight messages out again while the first deliveries are still stuck.
  await sleep(20_000);
  await system().all('mypage', (r) => r.signalApp('SIGCONT'));
  await sleep(5_000);
  const record = await traffic.stop();
  t.log(describe(record));
  t.deepEqual([...record.refusedRegistrations, ...record.maybeRegistered], [], 'registrations never depended on the read model');
  t.deepEqual(await verifyQuiet(system(), record), []);
});

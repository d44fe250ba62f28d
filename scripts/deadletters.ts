// `npm run deadletters`: the events subscribers dropped to the dead-letter
// topics of a local run (npm start), with their topic, event id, age and,
// when a log says, why.
// `npm run deadletters -- redrive <event-id>...`: after a fix, publishes those
// events again, unchanged, through their owner's sidecar, and removes them
// from the dead-letter topics. Safe to repeat: the handlers are idempotent
// per event. Redis Streams only (the local broker; see README, Resilience).
import path from 'node:path';
import { listDeadLetters, reasonFromLogs, redrive } from './lib/deadletters.js';
import { localApiToken, localRunDir, readLocalRun } from './lib/local.js';

const [command = 'list', ...ids] = process.argv.slice(2);
const local = readLocalRun();
if (!local) {
  console.error(`no local run found in ${localRunDir()}: start one with npm start`);
  process.exit(1);
}
const redisUrl = `redis://${local.pubsubRedis ?? local.recipeRedis}`;

const age = (since: Date) => {
  const s = Math.max(0, Math.round((Date.now() - since.getTime()) / 1000));
  return s < 120 ? `${s}s` : s < 7200 ? `${Math.round(s / 60)}m` : s < 172_800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86_400)}d`;
};

if (command === 'list') {
  const letters = await listDeadLetters(redisUrl);
  if (letters.length === 0) console.log('no dead letters');
  const logDir = path.join(localRunDir(), 'logs');
  for (const l of letters) {
    console.log(`${l.topic.padEnd(22)} ${l.eventId}  ${age(l.deadLetteredAt)} ago (entry ${l.entryId} on ${l.deadLetterTopic})`);
    console.log(`${''.padEnd(22)} reason: ${reasonFromLogs(logDir, l.eventId) ?? 'not recorded by the broker, and no local log names it'}`);
  }
  if (letters.length) console.log(`\n${letters.length} dead letter(s). After a fix: npm run deadletters -- redrive <event-id>...`);
} else if (command === 'redrive' && ids.length > 0) {
  const apps = Object.keys(local.sidecars);
  const { redriven, missing } = await redrive(redisUrl, ids, {
    sidecars: local.sidecars,
    tokens: Object.fromEntries(apps.map((app) => [app, localApiToken(app)])),
  });
  for (const r of redriven)
    console.log(
      `re-driven: ${r.eventId} to ${r.topic} through ${r.owner} (${r.entries} dead-letter entr${r.entries === 1 ? 'y' : 'ies'} removed)`,
    );
  for (const id of missing) console.log(`not a dead letter (already re-driven, or never dropped): ${id}`);
} else {
  console.error('usage: npm run deadletters [-- list]   |   npm run deadletters -- redrive <event-id>...');
  process.exit(2);
}

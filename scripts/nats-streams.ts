// `npm run nats:streams [nats-url]`: creates the JetStream streams the apps
// need when pub/sub runs on NATS (components/brokers/nats.yaml). Dapr does not
// create streams; without one a subscription fails. One stream per topic, so
// each app's durable consumer name is unique within its stream.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { connect } from 'nats';
import { parseAllDocuments } from 'yaml';

/** Every topic the apps subscribe to, and its dead-letter topic (components/subscriptions.yaml). */
export function topics(): string[] {
  const file = new URL('../components/subscriptions.yaml', import.meta.url);
  const docs = parseAllDocuments(readFileSync(file, 'utf8')).map((d) => d.toJS() as { spec: { topic: string; deadLetterTopic?: string } });
  return [...new Set(docs.flatMap((d) => [d.spec.topic, d.spec.deadLetterTopic ?? '']).filter(Boolean))];
}

export async function createStreams(url: string): Promise<string[]> {
  const nc = await connect({ servers: url, timeout: 2_000 });
  try {
    const jsm = await nc.jetstreamManager();
    const names = topics();
    for (const topic of names) await jsm.streams.add({ name: topic, subjects: [topic] });
    return names;
  } finally {
    await nc.close();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const url = process.argv[2] ?? 'nats://localhost:4222';
  const created = await createStreams(url);
  console.log(`streams on ${url}: ${created.join(', ')}`);
}

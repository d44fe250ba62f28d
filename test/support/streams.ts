import { createClient } from 'redis';
import type { RedisServer } from './backing.js';

export interface StreamedEvent {
  id: string;
  type?: string;
  data: any;
}

/** The CloudEvents a Redis Streams pub/sub holds for a topic (Dapr stores each in the `data` field). */
export async function readTopic(redis: RedisServer, topic: string): Promise<StreamedEvent[]> {
  const client = createClient({ socket: { host: redis.host, port: redis.port } });
  await client.connect();
  try {
    const entries = await client.xRange(topic, '-', '+');
    return entries.map((e) => JSON.parse(e.message.data!) as StreamedEvent);
  } finally {
    await client.quit();
  }
}

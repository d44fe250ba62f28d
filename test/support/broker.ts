import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { GenericContainer } from 'testcontainers';
import { createStreams } from '../../scripts/nats-streams.js';
import { currentRun, eventually, freePort, onStaleRun, spawnTracked, stopProcess } from './processes.js';
import { ROOT } from '../../scripts/lib/sidecar.js';

/**
 * The pub/sub broker of a test system, chosen by TEST_BROKER: redis (the
 * default, the same Redis as the state store), rabbitmq or nats. The apps
 * and every other resource stay the same; only the pub/sub component is
 * swapped for components/brokers/<broker>.yaml, with private connection
 * details: a RabbitMQ virtual host, or a NATS server, of the test's own.
 */
export type BrokerName = 'redis' | 'rabbitmq' | 'nats' | 'kafka';
export const BROKER: BrokerName = (process.env.TEST_BROKER as BrokerName | undefined) ?? 'redis';
const containers = process.env.TEST_BACKING === 'containers';

export interface Broker {
  /** The component file to use instead of components/pubsub.yaml, and its metadata overrides. */
  pubsubFile: string;
  overrides: Record<string, string>;
  stop(): Promise<void>;
}

export async function startBroker(label: string): Promise<Broker | undefined> {
  if (BROKER === 'rabbitmq') return containers ? rabbitContainer() : rabbitVhost(label);
  if (BROKER === 'nats') return nats(label);
  if (BROKER === 'kafka') return kafka(label);
  return undefined;
}

const rabbitmqctl = (...args: string[]) => execFileSync('rabbitmqctl', ['-q', ...args], { stdio: 'pipe' });

async function rabbitVhost(label: string): Promise<Broker> {
  const run = await currentRun();
  const vhost = `rr_${run.id}_${label}`;
  rabbitmqctl('add_vhost', vhost);
  appendFileSync(path.join(run.dir, 'vhosts'), `${vhost}\n`);
  rabbitmqctl('set_permissions', '-p', vhost, 'guest', '.*', '.*', '.*');
  return {
    pubsubFile: 'components/brokers/rabbitmq.yaml',
    overrides: { connectionString: `amqp://guest:guest@127.0.0.1:5672/${vhost}` },
    stop: async () => {
      rabbitmqctl('delete_vhost', vhost);
    },
  };
}

onStaleRun(async (_id, dir) => {
  const file = path.join(dir, 'vhosts');
  if (!existsSync(file)) return;
  for (const vhost of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    try {
      rabbitmqctl('delete_vhost', vhost);
    } catch {
      // already gone
    }
  }
});

async function rabbitContainer(): Promise<Broker> {
  const container = await new GenericContainer('rabbitmq:3-alpine').withExposedPorts(5672).start();
  const url = `amqp://guest:guest@${container.getHost()}:${container.getMappedPort(5672)}`;
  return {
    pubsubFile: 'components/brokers/rabbitmq.yaml',
    overrides: { connectionString: url },
    stop: async () => void (await container.stop()),
  };
}

async function nats(label: string): Promise<Broker> {
  let url: string;
  let stop: () => Promise<void>;
  if (containers) {
    const container = await new GenericContainer('nats:2-alpine').withCommand(['-js']).withExposedPorts(4222).start();
    url = `nats://${container.getHost()}:${container.getMappedPort(4222)}`;
    stop = async () => void (await container.stop());
  } else {
    const run = await currentRun();
    const port = await freePort();
    const dir = path.join(run.dir, `nats-${label}`);
    mkdirSync(dir, { recursive: true });
    const proc = await spawnTracked(
      `nats-${label}`,
      'nats-server',
      ['-js', '-a', '127.0.0.1', '-p', String(port), '-sd', dir],
      process.env,
    );
    url = `nats://127.0.0.1:${port}`;
    stop = () => stopProcess(proc);
  }
  // JetStream needs a stream per topic before anyone subscribes; Dapr does not create them.
  await eventually(() => createStreams(url), { what: 'nats server with streams', timeoutMs: 30_000 });
  return { pubsubFile: 'components/brokers/nats.yaml', overrides: { natsURL: url }, stop };
}

/**
 * kfake: franz-go's in-memory fake of a Kafka cluster, speaking the Kafka
 * protocol (test/kafka). Not Apache Kafka, which cannot be installed here;
 * it runs the project's Kafka component and the outbox relay on the Kafka
 * protocol, one partition per topic, consumed in order, retries inline.
 */
async function kafka(label: string): Promise<Broker> {
  const bin = execFileSync('bash', [path.join(ROOT, 'test/kafka/install.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  }).trim();
  const port = await freePort();
  const proc = await spawnTracked(`kfake-${label}`, bin, ['-port', String(port)], process.env);
  await eventually(async () => readFileSync(proc.logFile, 'utf8').includes('listening'), { what: 'kfake listening', timeoutMs: 10_000 });
  return { pubsubFile: 'components/brokers/kafka.yaml', overrides: { brokers: `127.0.0.1:${port}` }, stop: () => stopProcess(proc) };
}

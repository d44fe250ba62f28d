/**
 * Every Dapr object (k8s/, components/, dapr/config.yaml) validated against
 * the openAPIV3Schema of Dapr 1.18.3's own CRDs (test/config/schemas/), as a
 * structural schema: undeclared fields fail. And component metadata names
 * only fields the component really reads.
 */
import test from 'ava';
import { daprSchemaErrors, localDaprDocs } from './support/dapr-schemas.js';
import { byKind, describe, isDapr, one, renders, useManifests, type J } from './support/manifests.js';

useManifests(test);

test('every Dapr object in k8s/ matches the Dapr 1.18.3 CRD schemas', (t) => {
  for (const r of renders) {
    const dapr = r.docs.filter(isDapr);
    t.true(dapr.length >= 10, `${r.name}: the Dapr resources are rendered`);
    for (const doc of dapr) t.deepEqual(daprSchemaErrors(doc), [], `${r.name}: ${describe(doc)}`);
  }
});

test('the local Dapr resources (components/, dapr/config.yaml) match the Dapr 1.18.3 CRD schemas', (t) => {
  const docs = localDaprDocs();
  t.true(docs.length >= 5);
  for (const { file, doc } of docs) {
    t.deepEqual(daprSchemaErrors(doc), [], `${file}: ${describe(doc)}`);
  }
});

test('the Dapr schema validation catches misspelt fields and wrong types', (t) => {
  const base = renders[0]!.docs;
  const mutate = (kind: string, name: string, change: (d: J) => void) => {
    const copy = structuredClone(one(base, kind, name));
    change(copy);
    return copy;
  };
  const cases: [string, J, RegExp][] = [
    [
      'a misspelt route key',
      mutate('Subscription', 'registered', (d) => (d.spec.routes = { defualt: '/events/registered' })),
      /must NOT have additional properties.*defualt/,
    ],
    [
      'v1alpha1 "route" in a v2alpha1 Subscription',
      mutate('Subscription', 'registered', (d) => (d.spec.route = '/x')),
      /additionalProperty":"route"/,
    ],
    ['a misspelt component field', mutate('Component', 'pubsub', (d) => (d.spec.metdata = d.spec.metadata)), /metdata/],
    ['a component without a version', mutate('Component', 'pubsub', (d) => delete d.spec.version), /must have required property 'version'/],
    [
      'maxRetries as a word',
      mutate('Resiliency', 'events-and-stores', (d) => (d.spec.policies.retries.eventDelivery.maxRetries = 'three')),
      /must be integer/,
    ],
    [
      '"appID" for "appId"',
      mutate('Configuration', 'recipe-config', (d) => (d.spec.accessControl.policies[0].appID = d.spec.accessControl.policies[0].appId)),
      /appID/,
    ],
    [
      'mTLS without its required fields',
      mutate('Configuration', 'recipe-config', (d) => (d.spec.mtls = { enabled: true })),
      /required property 'controlPlaneTrustDomain'/,
    ],
    ['a misspelt top-level field', mutate('Component', 'pubsub', (d) => (d.scope = ['gateway'])), /additionalProperty":"scope"/],
  ];
  for (const [what, doc, expected] of cases) t.regex(daprSchemaErrors(doc).join('\n'), expected, what);
});

// Metadata fields each component type reads (components-contrib v1.18.4
// metadata.yaml files, with their authentication profiles), plus what the
// runtime reads for every pub/sub or state store. daprd ignores an unknown
// field silently, so a misspelt one would quietly change behaviour.
const COMPONENT_FIELDS: Record<string, string[]> = {
  // metadata.yaml says "concurrency"; the code (pubsub.Concurrency) reads "concurrencyMode".
  'pubsub.rabbitmq':
    'autoAck caCert clientCert clientKey clientName concurrency concurrencyMode connectionString deletedWhenUnused deliveryMode durable enableDeadLetter exchangeKind heartBeat hostname maxLen maxLenBytes password prefetchCount protocol publishMessagePropertiesToMetadata publisherConfirm reconnectWaitSeconds requeueInFailure saslExternal ttlInSeconds username'.split(
      ' ',
    ),
  'pubsub.jetstream':
    'natsURL token jwt seedKey tls_client_cert tls_client_key name streamName durableName queueGroupName startSequence startTime flowControl ackWait maxDeliver maxAckPending replicas memoryStorage rateLimit heartbeat deliverPolicy ackPolicy domain apiPrefix concurrency backOff'.split(
      ' ',
    ),
  'pubsub.kafka':
    'brokers consumerGroup clientID initialOffset maxMessageBytes consumeRetryInterval consumeRetryEnabled heartbeatInterval sessionTimeout version skipVerify disableTls channelBufferSize consumerFetchMin clientConnectionTopicMetadataRefreshInterval clientConnectionKeepAliveInterval dialTimeout readTimeout writeTimeout metadataTimeout producerRequiredAcks producerRetryMax consumerFetchDefault schemaRegistryURL schemaRegistryAPIKey schemaRegistryAPISecret schemaCachingEnabled schemaLatestVersionCacheTTL escapeHeaders useAvroJSON compression consumerGroupRebalanceStrategy excludeHeaderMetaRegex authType oidcTokenEndpoint oidcClientID oidcClientSecret oidcScopes oidcExtensions oidcClientAssertionCert oidcClientAssertionKey oidcResource oidcAudience oidcKid saslUsername saslPassword saslMechanism caCert clientCert clientKey awsAccessKey awsSecretKey awsSessionToken awsIamRoleArn awsStsSessionName awsRegion'.split(
      ' ',
    ),
  'pubsub.redis':
    'redisHost redisPort consumerID enableTLS insecureSkipTLSVerify clientCert clientKey redeliverInterval processingTimeout queueDepth concurrency redisType redisDB redisMaxRetries redisMinRetryInterval redisMaxRetryInterval dialTimeout readTimeout writeTimeout poolSize poolTimeout maxConnAge minIdleConns idleCheckFrequency idleTimeout failover sentinelMasterName maxLenApprox streamTTL redisUsername redisPassword sentinelUsername sentinelPassword useEntraID'.split(
      ' ',
    ),
  'state.postgresql':
    'timeout tablePrefix metadataTableName cleanupInterval maxConns connectionMaxIdleTime queryExecMode host hostaddr port database user password sslRootCert connectionString useAzureAD useAWSIAM awsAccessKey awsSecretKey awsRegion'.split(
      ' ',
    ),
  'state.redis':
    'redisHost redisPort enableTLS insecureSkipTLSVerify clientCert clientKey failover sentinelMasterName redeliverInterval processingTimeout redisType redisDB redisMaxRetries redisMinRetryInterval redisMaxRetryInterval dialTimeout readTimeout writeTimeout poolSize poolTimeout maxConnAge minIdleConns idleCheckFrequency idleTimeout ttlInSeconds queryIndexes redisUsername redisPassword sentinelUsername sentinelPassword useEntraID'.split(
      ' ',
    ),
  'secretstores.local.env': ['prefix'],
};
const RUNTIME_FIELDS: Record<string, string[]> = {
  pubsub: ['consumerID', 'publishingScopes', 'subscriptionScopes', 'allowedTopics', 'protectedTopics'],
  state: ['keyPrefix', 'actorStateStore'],
  secretstores: [],
};

test('component metadata names only fields the component reads, with string values', (t) => {
  const components = [
    ...renders.flatMap((r) => byKind(r.docs, 'Component').map((doc) => ({ where: r.name, doc }))),
    ...localDaprDocs()
      .filter(({ doc }) => doc.kind === 'Component')
      .map(({ file, doc }) => ({ where: file, doc })),
  ];
  for (const { where, doc } of components) {
    const type: string = doc.spec.type;
    const known = COMPONENT_FIELDS[type];
    t.truthy(known, `${where}: ${describe(doc)} has a type this test knows (${type})`);
    if (!known) continue;
    const allowed = new Set([...known, ...(RUNTIME_FIELDS[type.split('.')[0]!] ?? [])].map((n) => n.toLowerCase()));
    for (const m of doc.spec.metadata ?? []) {
      t.true(allowed.has(String(m.name).toLowerCase()), `${where}: ${describe(doc)} field "${m.name}" is read by ${type}`);
      if (m.value !== undefined) t.is(typeof m.value, 'string', `${where}: ${describe(doc)} "${m.name}" is a quoted string`);
      t.true(
        (m.value !== undefined) !== (m.secretKeyRef !== undefined),
        `${where}: ${describe(doc)} "${m.name}" has a value or a secretKeyRef`,
      );
    }
  }
});

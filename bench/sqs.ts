/**
 * Missive's SQS transport against hand-written AWS SDK code, on the fauxqs emulator. One run
 * measures four things:
 *
 *   node bench/sqs.ts                                  # everything, ~70 s on 2 cores
 *   BENCH_PHASES=throughput node bench/sqs.ts          # only some phases (throughput, steady, latency)
 *   BENCH_MESSAGES=5000 BENCH_RUNS=3 node bench/sqs.ts # fewer messages / runs
 *   BENCH_LINGER_MS=20 node bench/sqs.ts               # the transport's batchLingerMs (default 5)
 *   BENCH_STEADY_RATES=500,max BENCH_HEADLINE_RATE=max node bench/sqs.ts
 *   BENCH_PHASES=steady BENCH_STEADY_RATES=max BENCH_STEADY_MESSAGES=1000 BENCH_HANDLER_MS=200 node bench/sqs.ts
 *                                                      # steady-phase handlers that take 200 ms each
 *   BENCH_SRC=/tmp/proto/src node bench/sqs.ts         # measure a prototype copy of src/ (it needs a
 *                                                      # node_modules symlink to this repo's beside it)
 *   BENCH_PHASES=steady node --cpu-prof bench/sqs.ts   # profile the bench side (fauxqs runs in a child)
 *
 * fauxqs runs in a child process (bench/fauxqs-server.ts) on 127.0.0.1, so the emulator and the
 * code under test each get one of the two cores. Every client is configured like
 * test/helpers/sqs.ts (explicit endpoint, dummy credentials, `maxAttempts: 1`), and every SQS
 * request is counted by an SDK middleware at the `initialize` step (once per `client.send()`,
 * aborted long polls included). Bodies are `{"n": index}` everywhere; the indices are the ids
 * the exactly-once checks use. The sides of a comparison run one after the other on the same
 * event loop, each after a full GC. Every queue has a dead-letter queue (redriven to after 5
 * receives), as Missive's native dead-lettering expects.
 *
 * 1. Producer throughput ("throughput" phase): `createProducer` on `sqsQueue`, SENDERS (50)
 *    concurrent callers each awaiting `producer.send()` of one message at a time (batching
 *    happens inside the transport), against raw `SendMessageBatch` loops of 10 with the same
 *    number of messages in flight (SENDERS / 10 loops). The raw side sends bare bodies; Missive
 *    adds its envelope attribute, which is part of what it costs. producerRatio = median
 *    missive msg/s / median raw msg/s. A third side, the raw loops with an attribute shaped like
 *    Missive's envelope on every entry, tells the attribute's cost from that of Missive's code.
 * 2. Consumer throughput (same phase, draining the queues step 1 filled): `createConsumer`
 *    (concurrency 50, batchSize 10, so 5 pollers, trivial handler) against 5 raw loops of
 *    `ReceiveMessage(10)` -> handler -> `DeleteMessageBatch`, asking for no attributes (the third
 *    side asks for those Missive asks for). The clock stops when SQS confirmed the last delete
 *    (counted by middleware), not when the last handler returned. consumerRatio likewise.
 *    Steps 1 and 2 take the median of BENCH_RUNS runs after a warm-up run; the order of the
 *    sides rotates. On this machine every side is bound by the bench process's CPU, most of it
 *    the AWS SDK's (signing, serialising, HTTP), so CPU time per message of both processes is
 *    reported too.
 * 3. Requests per message ("steady" phase): a producer and a consumer on one fresh queue and one
 *    client, the consumer started first and long-polling (the default 20 s), the producer sending
 *    messages either paced at a steady rate (open loop, like a server sending per request; at
 *    most STEADY_SECONDS worth) or flat out (SENDERS concurrent senders: a backlog builds up and
 *    every batch is full). Every request counts: SendMessageBatch, ReceiveMessage (empty and
 *    aborted ones too), DeleteMessageBatch, ChangeMessageVisibilityBatch, GetQueueAttributes,
 *    GetQueueUrl, divided by the messages. requestsPerMessage is the median of STEADY_RUNS runs
 *    at HEADLINE_RATE, 2 000 msg/s: a steady rate the consumer keeps up with, and one at which
 *    5 ms of linger can fill a batch of 10, so the 0.35 target is reachable at all (at 500 msg/s
 *    the 5 ms linger alone keeps send batches near 3 messages). Empty receives answered well
 *    before their wait ran out are counted apart: fauxqs wakes every waiting long poll when a
 *    message arrives and all but one return empty at once, which SQS's long polling does not.
 * 4. Batching delay ("latency" phase): `producer.send()` paced at LATENCY_RATE (500 msg/s), and
 *    raw single `SendMessage` calls at the same pace, interleaved over LATENCY_RUNS runs.
 *    batchingP99Ms is the p99 of the time each message waited in the batcher: from its
 *    `producer.send()` call to the start of the `SendMessageBatch` carrying it (middleware
 *    timestamp). That is the delay batching itself adds, and what batchLingerMs (5 ms) bounds.
 *    We do not use p99(missive send) - p50(raw SendMessageBatch call): subtracting a median
 *    from a p99 bills the network's and the emulator's tail to the batcher. The end-to-end
 *    latencies (and p99 - p99 against a raw SendMessage) are reported alongside, for context.
 *
 * Checks (any failure exits with code 1, and the fauxqs child is killed): every message sent
 * is in its queue exactly once (by body index, from fauxqs's inspection endpoint) before it is
 * consumed; every message is handled exactly once; no send failed; the consumer reported no
 * error, retry, dead letter or release; every queue and its dead-letter queue is empty (ready,
 * delayed, in flight) at the end; a run that does not finish within BENCH_RUN_TIMEOUT_MS fails.
 * Results go to bench/results/sqs.json (BENCH_NO_WRITE=1 skips it; BENCH_VERBOSE=1 prints
 * every run).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import type * as Missive from '../src/index.ts';
import { RECEIVE_ATTRIBUTES } from '../src/transports/sqs/attributes.ts';
import type * as MissiveSqs from '../src/transports/sqs/index.ts';
import { type ForkedServer, forkServer } from './lib/child.ts';
import {
  choicesFromEnv,
  environment,
  fail,
  importSrc,
  intFromEnv,
  median,
  settle,
  verbose,
  writeResults,
} from './lib.ts';

const here = dirname(fileURLToPath(import.meta.url));
const { createConsumer, createProducer } = await importSrc<typeof Missive>('index.ts');
const { sqsQueue } = await importSrc<typeof MissiveSqs>('transports/sqs/index.ts');

/** Messages per throughput run (producer and consumer alike). */
const MESSAGES = intFromEnv('BENCH_MESSAGES', 8_000);
const RUNS = intFromEnv('BENCH_RUNS', 5);
/** Latency runs per side (each LATENCY_MESSAGES sends at LATENCY_RATE). */
const LATENCY_RUNS = intFromEnv('BENCH_LATENCY_RUNS', 3);
/** The throughput warm-up run: JIT, sockets, fauxqs's own warm-up. */
const WARMUP_MESSAGES = intFromEnv('BENCH_WARMUP_MESSAGES', 5_000);
/** Messages in flight on the producer side: concurrent `send()` callers, and 10x the raw loops. */
const SENDERS = intFromEnv('BENCH_SENDERS', 50);
const CONCURRENCY = intFromEnv('BENCH_CONCURRENCY', 50);
const BATCH_SIZE = intFromEnv('BENCH_BATCH_SIZE', 10);
/** Raw receive loops: the pollers the consumer runs by default. */
const POLLERS = Math.ceil(CONCURRENCY / BATCH_SIZE);
/** The most messages per steady run; paced runs send at most STEADY_SECONDS worth. */
const STEADY_MESSAGES = intFromEnv('BENCH_STEADY_MESSAGES', 10_000);
/** How long each steady-phase handler takes, in milliseconds (slow handlers shrink batches). */
const HANDLER_MS = intFromEnv('BENCH_HANDLER_MS', 0);
const STEADY_SECONDS = 4;
/** Runs at the headline rate (the median is reported); the other rates run once. */
const STEADY_RUNS = intFromEnv('BENCH_STEADY_RUNS', 3);
/** Steady-phase producer rates in msg/s; `max` sends flat out with SENDERS concurrent senders. */
const STEADY_RATES: (number | 'max')[] = (process.env.BENCH_STEADY_RATES ?? '500,1000,2000,max')
  .split(',')
  .map((rate) => rate.trim())
  .map((rate) => (rate === 'max' ? 'max' : Number(rate)));
for (const rate of STEADY_RATES)
  if (rate !== 'max' && !(Number.isInteger(rate) && rate > 0)) throw new Error(`Bad BENCH_STEADY_RATES entry ${rate}`);
/** The steady run requestsPerMessage reports (the others are in the breakdown). */
const HEADLINE_RATE = process.env.BENCH_HEADLINE_RATE ?? '2000';
if (!STEADY_RATES.map(String).includes(HEADLINE_RATE))
  throw new Error(`BENCH_HEADLINE_RATE ${HEADLINE_RATE} is not one of BENCH_STEADY_RATES (${STEADY_RATES.join(',')})`);
const LATENCY_RATE = intFromEnv('BENCH_LATENCY_RATE', 500);
/** Sends per latency run and side; runs alternate raw and missive. */
const LATENCY_MESSAGES = intFromEnv('BENCH_LATENCY_MESSAGES', 1_000);
/** The transport's batchLingerMs: its default (5) unless BENCH_LINGER_MS overrides it. */
const LINGER_OVERRIDE = process.env.BENCH_LINGER_MS ? intFromEnv('BENCH_LINGER_MS', 5) : undefined;
const LINGER_MS = LINGER_OVERRIDE ?? 5;
/** An empty receive answered this much sooner than its WaitTimeSeconds did not wait out its long poll. */
const EARLY_EMPTY_MARGIN_MS = 500;
const RUN_TIMEOUT_MS = intFromEnv('BENCH_RUN_TIMEOUT_MS', 30_000);
const ALL_PHASES = ['throughput', 'steady', 'latency'] as const;
type Phase = (typeof ALL_PHASES)[number];
const PHASES: Phase[] = choicesFromEnv('BENCH_PHASES', ALL_PHASES, 'phase');
if (SENDERS % 10 !== 0) throw new Error('BENCH_SENDERS must be a multiple of 10 (raw loops send batches of 10)');

interface Body {
  readonly n: number;
}

// ---------------------------------------------------------------------------------------------
// fauxqs in a child process

let server: ForkedServer<string> | undefined;

async function startServer(): Promise<string> {
  server = await forkServer(resolve(here, 'fauxqs-server.ts'), 'fauxqs', (message) => {
    const { endpoint } = message as { endpoint?: unknown };
    return typeof endpoint === 'string' ? endpoint : undefined;
  });
  return server.ready;
}

// ---------------------------------------------------------------------------------------------
// Clients and request counting

/** What a client sent, by command (without the `Command` suffix). */
interface Counts {
  /** Requests per command. */
  readonly calls: Record<string, number>;
  /** Batch entries per command (Send/Delete/ChangeMessageVisibility batches). */
  readonly entries: Record<string, number>;
  /** Failed requests per command (thrown: an aborted long poll, an error). */
  readonly errors: Record<string, number>;
  /** Entries SQS listed in `Failed`, per command. */
  readonly failedEntries: Record<string, number>;
  emptyReceives: number;
  /**
   * Empty receives answered well before their long poll's wait ran out. Real SQS keeps a long
   * poll open until a message arrives for it or the wait ends; fauxqs wakes every waiting poll
   * when any message arrives, and all but one come back empty at once.
   */
  earlyEmptyReceives: number;
  messagesReceived: number;
  /** Deletes SQS confirmed (`Successful` entries of DeleteMessageBatch). */
  deleted: number;
}

interface Hooks {
  /** A command is about to be sent (the initialize step), with its input. */
  onStart?(command: string, input: Record<string, unknown>, at: number): void;
  /** A command answered. */
  onEnd?(command: string, input: Record<string, unknown>, startedAt: number, endedAt: number): void;
}

interface CountedClient {
  readonly client: SQSClient;
  counts: Counts;
  hooks: Hooks;
  /** Called after each answered DeleteMessageBatch. */
  onDeleted: (() => void) | undefined;
}

function newCounts(): Counts {
  return {
    calls: {},
    entries: {},
    errors: {},
    failedEntries: {},
    emptyReceives: 0,
    earlyEmptyReceives: 0,
    messagesReceived: 0,
    deleted: 0,
  };
}

const add = (record: Record<string, number>, key: string, by = 1) => {
  record[key] = (record[key] ?? 0) + by;
};

const totalCalls = (counts: Counts) => Object.values(counts.calls).reduce((sum, n) => sum + n, 0);

let endpoint = '';

function sqsClient(): SQSClient {
  return new SQSClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
}

/** A client whose every request is counted, once per `send()`, outside the SDK's own retries. */
function countedClient(): CountedClient {
  const counted: CountedClient = { client: sqsClient(), counts: newCounts(), hooks: {}, onDeleted: undefined };
  counted.client.middlewareStack.add(
    (next, context) => async (args) => {
      const command = (context.commandName as string).replace(/Command$/, '');
      const input = args.input as Record<string, unknown>;
      const { counts, hooks } = counted;
      add(counts.calls, command);
      const entries = input.Entries as unknown[] | undefined;
      if (entries) add(counts.entries, command, entries.length);
      const startedAt = performance.now();
      hooks.onStart?.(command, input, startedAt);
      let result: Awaited<ReturnType<typeof next>>;
      try {
        result = await next(args);
      } catch (error) {
        add(counts.errors, command);
        throw error;
      }
      const endedAt = performance.now();
      hooks.onEnd?.(command, input, startedAt, endedAt);
      const output = result.output as {
        Messages?: unknown[];
        Successful?: unknown[];
        Failed?: unknown[];
      };
      if (output.Failed?.length) add(counts.failedEntries, command, output.Failed.length);
      if (command === 'ReceiveMessage') {
        const received = output.Messages?.length ?? 0;
        counts.messagesReceived += received;
        if (received === 0) {
          counts.emptyReceives++;
          const waitMs = Number(input.WaitTimeSeconds ?? 0) * 1000;
          if (waitMs > 0 && endedAt - startedAt < waitMs - EARLY_EMPTY_MARGIN_MS) counts.earlyEmptyReceives++;
        }
      } else if (command === 'DeleteMessageBatch') {
        counts.deleted += output.Successful?.length ?? 0;
        counted.onDeleted?.();
      }
      return result;
    },
    { step: 'initialize', name: 'benchCountRequests' },
  );
  return counted;
}

/** Missive's SQS transport on a counted client. */
function queueOf(counted: CountedClient, queueUrl: string) {
  return sqsQueue({
    client: counted.client,
    queueUrl,
    ...(LINGER_OVERRIDE === undefined ? {} : { batchLingerMs: LINGER_OVERRIDE }),
  });
}

// ---------------------------------------------------------------------------------------------
// Queues and checks

let admin: SQSClient;
let queueSerial = 0;

interface BenchQueue {
  readonly url: string;
  readonly name: string;
  readonly deadLetterUrl: string;
  readonly deadLetterName: string;
}

/**
 * A fresh standard queue with a dead-letter queue redriven to after 5 receives, the way
 * Missive's native dead-lettering expects (the consumer reads the policy when it starts).
 */
async function createQueue(label: string): Promise<BenchQueue> {
  const name = `bench-${label}-${process.pid}-${++queueSerial}`;
  const deadLetterName = `${name}-dlq`;
  const { QueueUrl: deadLetterUrl } = await admin.send(new CreateQueueCommand({ QueueName: deadLetterName }));
  const { Attributes } = await admin.send(
    new GetQueueAttributesCommand({ QueueUrl: deadLetterUrl, AttributeNames: ['QueueArn'] }),
  );
  const { QueueUrl } = await admin.send(
    new CreateQueueCommand({
      QueueName: name,
      Attributes: {
        VisibilityTimeout: '30',
        RedrivePolicy: JSON.stringify({ deadLetterTargetArn: Attributes?.QueueArn, maxReceiveCount: 5 }),
      },
    }),
  );
  return { url: QueueUrl as string, name, deadLetterUrl: deadLetterUrl as string, deadLetterName };
}

async function deleteQueue(queue: BenchQueue): Promise<void> {
  await admin.send(new DeleteQueueCommand({ QueueUrl: queue.url }));
  await admin.send(new DeleteQueueCommand({ QueueUrl: queue.deadLetterUrl }));
}

interface InspectedQueue {
  readonly messages: {
    readonly ready: { readonly body: string }[];
    readonly delayed: { readonly body: string }[];
    readonly inflight: unknown[];
  };
}

/** fauxqs's non-destructive view of a queue (GET /_fauxqs/queues/:name). */
async function inspectQueue(name: string): Promise<InspectedQueue> {
  const response = await fetch(`${endpoint}/_fauxqs/queues/${encodeURIComponent(name)}`);
  if (!response.ok) throw new Error(`inspecting ${name}: HTTP ${response.status}`);
  return (await response.json()) as InspectedQueue;
}

/** Problems unless the queue holds exactly one message of each index below `count`, all ready. */
async function checkQueueHolds(name: string, count: number): Promise<string[]> {
  const { messages } = await inspectQueue(name);
  const problems: string[] = [];
  if (messages.delayed.length || messages.inflight.length)
    problems.push(`${messages.delayed.length} delayed and ${messages.inflight.length} in-flight messages in ${name}`);
  const seen = new Uint8Array(count);
  let foreign = 0;
  for (const { body } of messages.ready) {
    const n = (JSON.parse(body) as Body).n;
    if (Number.isInteger(n) && n >= 0 && n < count) seen[n] = (seen[n] as number) + 1;
    else foreign++;
  }
  if (foreign) problems.push(`${foreign} unexpected messages in ${name}`);
  problems.push(...exactlyOnce(seen, `in ${name}`));
  return problems;
}

/** Problems unless the queue and its dead-letter queue are empty: ready, delayed and in flight. */
async function checkQueueEmpty(queue: BenchQueue): Promise<string[]> {
  const problems: string[] = [];
  for (const name of [queue.name, queue.deadLetterName]) {
    const { messages } = await inspectQueue(name);
    const total = messages.ready.length + messages.delayed.length + messages.inflight.length;
    if (total > 0)
      problems.push(
        `${name} not empty: ${messages.ready.length} ready, ${messages.delayed.length} delayed, ${messages.inflight.length} in flight`,
      );
  }
  return problems;
}

function exactlyOnce(seen: Uint8Array, where: string): string[] {
  let missing = 0;
  let repeated = 0;
  for (const count of seen) {
    if (count === 0) missing++;
    else if (count > 1) repeated++;
  }
  const problems: string[] = [];
  if (missing) problems.push(`${missing} of ${seen.length} messages missing ${where}`);
  if (repeated) problems.push(`${repeated} messages more than once ${where}`);
  return problems;
}

/** A problem list that keeps the first few. */
function problemList(): { readonly list: string[]; add(text: string): void } {
  let count = 0;
  const list: string[] = [];
  return {
    list,
    add(text) {
      if (++count <= 10) list.push(text);
      else if (count === 11) list.push('… more');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Helpers

const sleep = (ms: number) => new Promise<void>((resolveSleep) => setTimeout(resolveSleep, ms));

/** CPU time used so far by the fauxqs process, in ms (Linux /proc); undefined elsewhere. */
function serverCpuMs(): number | undefined {
  try {
    const stat = readFileSync(`/proc/${server?.child.pid}/stat`, 'utf8');
    // Fields after the command name (in parentheses): utime and stime are the 14th and 15th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS;
  } catch {
    return undefined;
  }
}
const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/** CPU milliseconds the bench process and fauxqs spent while `work` ran. */
async function withCpu<T>(
  work: () => Promise<T>,
): Promise<{ result: T; cpu: { bench: number; fauxqs: number | null } }> {
  const bench = process.cpuUsage();
  const fauxqs = serverCpuMs();
  const result = await work();
  const used = process.cpuUsage(bench);
  const fauxqsAfter = serverCpuMs();
  return {
    result,
    cpu: {
      bench: round((used.user + used.system) / 1000, 0),
      fauxqs: fauxqs === undefined || fauxqsAfter === undefined ? null : round(fauxqsAfter - fauxqs, 0),
    },
  };
}

/** Resolves when `condition` holds after a call of the returned `check`; rejects after `limitMs`. */
function until(condition: () => boolean, limitMs: number, what: () => string) {
  let resolveDone!: () => void;
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolveIt, reject) => {
    resolveDone = resolveIt;
    timer = setTimeout(() => reject(new Error(`not finished within ${limitMs} ms: ${what()}`)), limitMs);
  });
  // Awaited later (after the sends, say): a timeout before then is not an unhandled rejection.
  done.catch(() => undefined);
  const check = () => {
    if (condition()) {
      clearTimeout(timer);
      resolveDone();
    }
  };
  check();
  return { done, check };
}

/**
 * Calls `fire(i)` for i in [0, count) at `rate` per second, open loop: the schedule does not wait
 * for earlier calls to finish. Resolves once the last call was made.
 */
async function paced(count: number, rate: number, fire: (i: number) => void): Promise<void> {
  const interval = 1000 / rate;
  const start = performance.now();
  let i = 0;
  while (i < count) {
    const due = Math.min(count, Math.floor((performance.now() - start) / interval) + 1);
    while (i < due) fire(i++);
    if (i < count) await sleep(Math.max(0, start + i * interval - performance.now()));
  }
}

/** Nearest-rank percentile, p in (0, 1]. */
function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] as number;
}

const round = (value: number, digits = 2) => Number(value.toFixed(digits));

function summary(values: readonly number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 0.5)),
    p90: round(percentile(sorted, 0.9)),
    p99: round(percentile(sorted, 0.99)),
    max: round(sorted[sorted.length - 1] as number),
    mean: round(sorted.reduce((sum, v) => sum + v, 0) / sorted.length),
  };
}

// ---------------------------------------------------------------------------------------------
// 1. Producer throughput

async function produceMissive(counted: CountedClient, queueUrl: string, count: number, problems: ProblemSink) {
  const producer = createProducer<Body>({ transport: queueOf(counted, queueUrl) });
  let next = 0;
  const sender = async () => {
    while (next < count) {
      const n = next++;
      try {
        await producer.send({ n });
      } catch (error) {
        problems.add(`send ${n} failed: ${(error as Error).message}`);
      }
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: SENDERS }, sender));
  const elapsedMs = performance.now() - start;
  await producer.close();
  return elapsedMs;
}

/**
 * Raw SendMessageBatch loops. `withEnvelope` adds an attribute shaped like Missive's envelope
 * attribute (a UUID and a timestamp as JSON), to tell its cost from the rest of Missive's.
 */
async function produceRaw(
  counted: CountedClient,
  queueUrl: string,
  count: number,
  problems: ProblemSink,
  withEnvelope = false,
) {
  let next = 0;
  const loop = async () => {
    while (next < count) {
      const first = next;
      const size = Math.min(10, count - first);
      next += size;
      try {
        const output = await counted.client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: Array.from({ length: size }, (_, i) => ({
              Id: String(i),
              MessageBody: JSON.stringify({ n: first + i }),
              ...(withEnvelope
                ? {
                    MessageAttributes: {
                      missive: {
                        DataType: 'String',
                        StringValue: JSON.stringify({ i: randomUUID(), t: Date.now() }),
                      },
                    },
                  }
                : {}),
            })),
          }),
        );
        if (output.Failed?.length) problems.add(`${output.Failed.length} entries failed: ${output.Failed[0]?.Code}`);
      } catch (error) {
        problems.add(`SendMessageBatch failed: ${(error as Error).message}`);
      }
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: SENDERS / 10 }, loop));
  return performance.now() - start;
}

// ---------------------------------------------------------------------------------------------
// 2. Consumer throughput

type ProblemSink = ReturnType<typeof problemList>;

interface ConsumeResult {
  readonly elapsedMs: number;
  readonly seen: Uint8Array;
}

async function consumeMissive(counted: CountedClient, queueUrl: string, count: number, problems: ProblemSink) {
  const seen = new Uint8Array(count);
  const consumer = createConsumer<Body>({
    transport: queueOf(counted, queueUrl),
    concurrency: CONCURRENCY,
    batchSize: BATCH_SIZE,
    onError: (error) => problems.add(`consumer error: ${error.message}`),
    handler: async (message) => {
      const n = message.body.n;
      seen[n] = (seen[n] as number) + 1;
    },
  });
  const finished = until(
    () => counted.counts.deleted >= count,
    RUN_TIMEOUT_MS,
    () => `${counted.counts.deleted} of ${count} deleted`,
  );
  counted.onDeleted = finished.check;
  const start = performance.now();
  consumer.start();
  let elapsedMs = Number.NaN;
  try {
    await finished.done;
    elapsedMs = performance.now() - start;
  } catch (error) {
    problems.add((error as Error).message);
  }
  counted.onDeleted = undefined;
  await consumer.stop();
  const stats = consumer.stats();
  if (stats.acked !== count) problems.add(`consumer acked ${stats.acked}, expected ${count}`);
  if (stats.received !== count) problems.add(`consumer received ${stats.received}, expected ${count}`);
  for (const key of ['duplicates', 'retried', 'deadLettered', 'released'] as const)
    if (stats[key] !== 0) problems.add(`consumer ${key}: ${stats[key]}`);
  return { elapsedMs, seen };
}

/**
 * Raw receive loops. `withAttributes` asks for the attributes Missive's receive asks for, to
 * tell their cost from the rest of Missive's.
 */
async function consumeRaw(
  counted: CountedClient,
  queueUrl: string,
  count: number,
  problems: ProblemSink,
  withAttributes = false,
) {
  const seen = new Uint8Array(count);
  const handler = async (body: Body) => {
    seen[body.n] = (seen[body.n] as number) + 1;
  };
  const abort = new AbortController();
  const finished = until(
    () => counted.counts.deleted >= count,
    RUN_TIMEOUT_MS,
    () => `${counted.counts.deleted} of ${count} deleted`,
  );
  counted.onDeleted = finished.check;
  const loop = async () => {
    while (!abort.signal.aborted) {
      let messages: Message[];
      try {
        const output = await counted.client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 20,
            ...(withAttributes ? RECEIVE_ATTRIBUTES : {}),
          }),
          { abortSignal: abort.signal },
        );
        messages = output.Messages ?? [];
      } catch (error) {
        if (!abort.signal.aborted) problems.add(`ReceiveMessage failed: ${(error as Error).message}`);
        return;
      }
      if (messages.length === 0) continue;
      for (const message of messages) await handler(JSON.parse(message.Body as string) as Body);
      try {
        const output = await counted.client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })),
          }),
        );
        if (output.Failed?.length) problems.add(`${output.Failed.length} deletes failed: ${output.Failed[0]?.Code}`);
      } catch (error) {
        problems.add(`DeleteMessageBatch failed: ${(error as Error).message}`);
      }
    }
  };
  const start = performance.now();
  const loops = Array.from({ length: POLLERS }, loop);
  let elapsedMs = Number.NaN;
  try {
    await finished.done;
    elapsedMs = performance.now() - start;
  } catch (error) {
    problems.add((error as Error).message);
  }
  counted.onDeleted = undefined;
  abort.abort();
  await Promise.all(loops);
  return { elapsedMs, seen };
}

// ---------------------------------------------------------------------------------------------
// The throughput phase: produce into two fresh queues, check them, drain them.

type Cpu = { bench: number; fauxqs: number | null };
type Side = 'missive' | 'raw' | 'rawWithAttributes';
const SIDES: readonly Side[] = ['missive', 'raw', 'rawWithAttributes'];

interface ThroughputRun {
  /** msg/s per side. */
  producer: Record<Side, number>;
  consumer: Record<Side, number>;
  /** CPU ms per 1 000 messages, in the bench process and in fauxqs. */
  producerCpu: Record<Side, Cpu>;
  consumerCpu: Record<Side, Cpu>;
  missiveProducerCounts: Counts;
  missiveConsumerCounts: Counts;
}

/**
 * Runs one measurement per side, one after the other, each after a settle; the order rotates
 * with `run`, so each side goes first, second and third alike.
 */
async function rotate<T>(run: number, work: Record<Side, () => Promise<T>>) {
  const results = {} as Record<Side, { result: T; cpu: Cpu }>;
  for (let i = 0; i < SIDES.length; i++) {
    const side = SIDES[(run + i) % SIDES.length] as Side;
    await settle(20);
    results[side] = await withCpu(work[side]);
  }
  return results;
}

const mapSides = <T, U>(record: Record<Side, T>, f: (value: T) => U): Record<Side, U> =>
  ({ missive: f(record.missive), raw: f(record.raw), rawWithAttributes: f(record.rawWithAttributes) }) as Record<
    Side,
    U
  >;

/**
 * One throughput run: three fresh queues filled by the three producers (Missive, raw, raw with
 * Missive's envelope attribute), checked, then drained by the matching consumers (Missive, raw,
 * raw asking for Missive's attributes) and checked again.
 */
async function throughputRun(run: number, count: number, label: string): Promise<ThroughputRun> {
  const queues = {
    missive: await createQueue(`tp-missive-${run}`),
    raw: await createQueue(`tp-raw-${run}`),
    rawWithAttributes: await createQueue(`tp-raw-attr-${run}`),
  };
  const problems = problemList();
  const rate = (ms: number) => count / (ms / 1000);
  const per1000 = (cpu: Cpu): Cpu => ({
    bench: round((cpu.bench * 1000) / count, 1),
    fauxqs: cpu.fauxqs === null ? null : round((cpu.fauxqs * 1000) / count, 1),
  });

  const producers = { missive: countedClient(), raw: countedClient(), rawWithAttributes: countedClient() };
  const produced = await rotate(run, {
    missive: () => produceMissive(producers.missive, queues.missive.url, count, problems),
    raw: () => produceRaw(producers.raw, queues.raw.url, count, problems),
    rawWithAttributes: () =>
      produceRaw(producers.rawWithAttributes, queues.rawWithAttributes.url, count, problems, true),
  });
  if (problems.list.length) fail(`producers (${label})`, problems.list);
  const held: string[] = [];
  for (const side of SIDES) held.push(...(await checkQueueHolds(queues[side].name, count)));
  if (held.length) fail(`producers (${label})`, held);

  const consumers = { missive: countedClient(), raw: countedClient(), rawWithAttributes: countedClient() };
  const consumed = await rotate<ConsumeResult>(run, {
    missive: () => consumeMissive(consumers.missive, queues.missive.url, count, problems),
    raw: () => consumeRaw(consumers.raw, queues.raw.url, count, problems),
    rawWithAttributes: () =>
      consumeRaw(consumers.rawWithAttributes, queues.rawWithAttributes.url, count, problems, true),
  });
  const checks = [...problems.list];
  for (const side of SIDES) {
    checks.push(...exactlyOnce(consumed[side].result.seen, `from the ${side} consumer`));
    checks.push(...(await checkQueueEmpty(queues[side])));
  }
  if (checks.length) fail(`consumers (${label})`, checks);
  for (const side of SIDES) {
    await deleteQueue(queues[side]);
    producers[side].client.destroy();
    consumers[side].client.destroy();
  }

  const result: ThroughputRun = {
    producer: mapSides(produced, (p) => rate(p.result)),
    consumer: mapSides(consumed, (c) => rate(c.result.elapsedMs)),
    producerCpu: mapSides(produced, (p) => per1000(p.cpu)),
    consumerCpu: mapSides(consumed, (c) => per1000(c.cpu)),
    missiveProducerCounts: producers.missive.counts,
    missiveConsumerCounts: consumers.missive.counts,
  };
  verbose(
    `throughput ${label}: producer msg/s ${JSON.stringify(mapSides(result.producer, Math.round))}, ` +
      `consumer msg/s ${JSON.stringify(mapSides(result.consumer, Math.round))}; cpu ms/1000 msgs producer ` +
      `${JSON.stringify(result.producerCpu)} consumer ${JSON.stringify(result.consumerCpu)}; ` +
      `missive producer calls ${JSON.stringify(producers.missive.counts.calls)}, consumer calls ` +
      `${JSON.stringify(consumers.missive.counts.calls)}`,
  );
  return result;
}

// ---------------------------------------------------------------------------------------------
// 3. Requests per message at steady load

interface SteadyResult {
  readonly rate: number | 'max';
  readonly messages: number;
  readonly elapsedMs: number;
  readonly achievedMessagesPerSecond: number;
  readonly requests: number;
  readonly requestsPerMessage: number;
  readonly requestsByCommand: Record<string, number>;
  readonly requestsPerMessageByCommand: Record<string, number>;
  readonly averageBatchEntries: Record<string, number>;
  readonly emptyReceives: number;
  readonly earlyEmptyReceives: number;
  /** requestsPerMessage without the early empty receives: what SQS's own long polling would have cost. */
  readonly requestsPerMessageWithoutEarlyEmpties: number;
  readonly abortedOrFailedRequests: Record<string, number>;
  readonly averageMessagesPerReceive: number;
}

async function steadyRun(rate: number | 'max'): Promise<SteadyResult> {
  const count = rate === 'max' ? STEADY_MESSAGES : Math.min(STEADY_MESSAGES, rate * STEADY_SECONDS);
  const queue = await createQueue(`steady-${rate}`);
  const counted = countedClient();
  const problems = problemList();
  const transport = queueOf(counted, queue.url);
  const seen = new Uint8Array(count);
  const consumer = createConsumer<Body>({
    transport,
    concurrency: CONCURRENCY,
    batchSize: BATCH_SIZE,
    onError: (error) => problems.add(`consumer error: ${error.message}`),
    handler: async (message) => {
      const n = message.body.n;
      seen[n] = (seen[n] as number) + 1;
      if (HANDLER_MS > 0) await sleep(HANDLER_MS);
    },
  });
  const producer = createProducer<Body>({ transport });
  const finished = until(
    () => counted.counts.deleted >= count,
    RUN_TIMEOUT_MS,
    () => `${counted.counts.deleted} of ${count} deleted`,
  );
  counted.onDeleted = finished.check;
  await settle(20);
  const start = performance.now();
  consumer.start();
  const sends: Promise<unknown>[] = [];
  const send = (n: number) =>
    producer.send({ n }).catch((error: Error) => problems.add(`send ${n} failed: ${error.message}`));
  if (rate === 'max') {
    let next = 0;
    const sender = async () => {
      while (next < count) await send(next++);
    };
    sends.push(...Array.from({ length: SENDERS }, sender));
  } else {
    await paced(count, rate, (n) => sends.push(send(n)));
  }
  await Promise.all(sends);
  let elapsedMs = Number.NaN;
  try {
    await finished.done;
    elapsedMs = performance.now() - start;
  } catch (error) {
    problems.add((error as Error).message);
  }
  counted.onDeleted = undefined;
  // Stopping aborts the waiting long polls; they are counted too.
  await consumer.stop();
  await producer.close();
  const stats = consumer.stats();
  if (stats.acked !== count) problems.add(`consumer acked ${stats.acked}, expected ${count}`);
  for (const key of ['duplicates', 'retried', 'deadLettered', 'released'] as const)
    if (stats[key] !== 0) problems.add(`consumer ${key}: ${stats[key]}`);
  const checks = [...problems.list, ...exactlyOnce(seen, 'handled'), ...(await checkQueueEmpty(queue))];
  if (checks.length) fail(`steady ${rate}`, checks);
  await deleteQueue(queue);
  counted.client.destroy();

  const { counts } = counted;
  const requests = totalCalls(counts);
  const result: SteadyResult = {
    rate,
    messages: count,
    elapsedMs: round(elapsedMs, 1),
    achievedMessagesPerSecond: Math.round(count / (elapsedMs / 1000)),
    requests,
    requestsPerMessage: round(requests / count, 4),
    requestsByCommand: { ...counts.calls },
    requestsPerMessageByCommand: Object.fromEntries(
      Object.entries(counts.calls).map(([command, n]) => [command, round(n / count, 4)]),
    ),
    averageBatchEntries: Object.fromEntries(
      Object.entries(counts.entries).map(([command, n]) => [command, round(n / (counts.calls[command] ?? 1), 2)]),
    ),
    emptyReceives: counts.emptyReceives,
    earlyEmptyReceives: counts.earlyEmptyReceives,
    requestsPerMessageWithoutEarlyEmpties: round((requests - counts.earlyEmptyReceives) / count, 4),
    abortedOrFailedRequests: { ...counts.errors },
    averageMessagesPerReceive: round(counts.messagesReceived / (counts.calls.ReceiveMessage ?? 1), 2),
  };
  verbose(`steady ${rate}: ${JSON.stringify(result)}`);
  return result;
}

// ---------------------------------------------------------------------------------------------
// 4. Batching delay

interface LatencySamples {
  /** producer.send() call to resolution, per message. */
  missiveSend: number[];
  /** producer.send() call to the start of the SendMessageBatch carrying the message. */
  batchWait: number[];
  /** Duration of each SendMessageBatch call the producer made. */
  batchCall: number[];
  /** Entries per SendMessageBatch. */
  batchEntries: number[];
  /** A raw single SendMessage call, per message. */
  rawSend: number[];
}

async function latencyMissive(samples: LatencySamples): Promise<void> {
  const queue = await createQueue('latency-missive');
  const counted = countedClient();
  const problems = problemList();
  const calledAt = new Float64Array(LATENCY_MESSAGES).fill(Number.NaN);
  const batchedAt = new Float64Array(LATENCY_MESSAGES).fill(Number.NaN);
  counted.hooks = {
    onStart(command, input, at) {
      if (command !== 'SendMessageBatch') return;
      const entries = input.Entries as { MessageBody: string }[];
      samples.batchEntries.push(entries.length);
      for (const entry of entries) {
        const n = (JSON.parse(entry.MessageBody) as Body).n;
        // The first batch call carrying it (a retry would be a later one).
        if (Number.isNaN(batchedAt[n] as number)) batchedAt[n] = at;
      }
    },
    onEnd(command, _input, startedAt, endedAt) {
      if (command === 'SendMessageBatch') samples.batchCall.push(endedAt - startedAt);
    },
  };
  const producer = createProducer<Body>({ transport: queueOf(counted, queue.url) });
  const sends: Promise<unknown>[] = [];
  await settle(20);
  await paced(LATENCY_MESSAGES, LATENCY_RATE, (n) => {
    const at = performance.now();
    calledAt[n] = at;
    sends.push(
      producer.send({ n }).then(
        () => samples.missiveSend.push(performance.now() - at),
        (error: Error) => problems.add(`send ${n} failed: ${error.message}`),
      ),
    );
  });
  await Promise.all(sends);
  await producer.close();
  for (let n = 0; n < LATENCY_MESSAGES; n++) {
    const wait = (batchedAt[n] as number) - (calledAt[n] as number);
    if (Number.isNaN(wait)) problems.add(`message ${n} was never seen in a SendMessageBatch`);
    else samples.batchWait.push(wait);
  }
  const checks = [...problems.list, ...(await checkQueueHolds(queue.name, LATENCY_MESSAGES))];
  if (checks.length) fail('latency (missive)', checks);
  await deleteQueue(queue);
  counted.client.destroy();
}

async function latencyRaw(samples: LatencySamples): Promise<void> {
  const queue = await createQueue('latency-raw');
  const counted = countedClient();
  const problems = problemList();
  const sends: Promise<unknown>[] = [];
  await settle(20);
  await paced(LATENCY_MESSAGES, LATENCY_RATE, (n) => {
    const at = performance.now();
    sends.push(
      counted.client.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: JSON.stringify({ n }) })).then(
        () => samples.rawSend.push(performance.now() - at),
        (error: Error) => problems.add(`SendMessage ${n} failed: ${error.message}`),
      ),
    );
  });
  await Promise.all(sends);
  const checks = [...problems.list, ...(await checkQueueHolds(queue.name, LATENCY_MESSAGES))];
  if (checks.length) fail('latency (raw)', checks);
  await deleteQueue(queue);
  counted.client.destroy();
}

// ---------------------------------------------------------------------------------------------
// Main

function packageVersion(name: string): string | null {
  try {
    // The package's own package.json, found above its resolved entry point (import.meta.resolve
    // also works for ESM-only packages such as fauxqs, whose exports hide ./package.json).
    let dir = dirname(fileURLToPath(import.meta.resolve(name)));
    for (let i = 0; i < 5; i++) {
      try {
        const pkg = JSON.parse(readFileSync(resolve(dir, 'package.json'), 'utf8')) as {
          name?: string;
          version?: string;
        };
        if (pkg.name === name) return pkg.version ?? null;
      } catch {
        // not here
      }
      dir = dirname(dir);
    }
  } catch {
    // not resolvable
  }
  return null;
}

const benchStart = performance.now();
endpoint = await startServer();
admin = sqsClient();
verbose(`fauxqs at ${endpoint}`);

interface ThroughputSummary {
  /** Median msg/s per side. */
  readonly producer: Record<Side, number>;
  readonly consumer: Record<Side, number>;
  /** Median CPU ms per 1 000 messages per side (bench process, fauxqs). */
  readonly producerCpu: Record<Side, Cpu>;
  readonly consumerCpu: Record<Side, Cpu>;
  readonly runs: ThroughputRun[];
}

const phaseSeconds: Record<string, number> = {};
let phaseStart = performance.now();
let throughput: ThroughputSummary | undefined;
if (PHASES.includes('throughput')) {
  await throughputRun(0, WARMUP_MESSAGES, 'warm-up');
  const runs: ThroughputRun[] = [];
  for (let run = 1; run <= RUNS; run++) runs.push(await throughputRun(run, MESSAGES, `run ${run}`));
  const medianOf = (pick: (run: ThroughputRun) => Record<Side, number>) =>
    Object.fromEntries(SIDES.map((side) => [side, Math.round(median(runs.map((r) => pick(r)[side])))])) as Record<
      Side,
      number
    >;
  const cpuOf = (pick: (run: ThroughputRun) => Record<Side, Cpu>) =>
    Object.fromEntries(
      SIDES.map((side) => {
        const fauxqs = runs.map((r) => pick(r)[side].fauxqs);
        return [
          side,
          {
            bench: round(median(runs.map((r) => pick(r)[side].bench)), 1),
            fauxqs: fauxqs.includes(null) ? null : round(median(fauxqs as number[]), 1),
          },
        ];
      }),
    ) as Record<Side, Cpu>;
  throughput = {
    producer: medianOf((r) => r.producer),
    consumer: medianOf((r) => r.consumer),
    producerCpu: cpuOf((r) => r.producerCpu),
    consumerCpu: cpuOf((r) => r.consumerCpu),
    runs,
  };
}
phaseSeconds.throughput = round((performance.now() - phaseStart) / 1000, 1);
phaseStart = performance.now();

const steady: SteadyResult[] = [];
/** The headline rate's runs: it alone is run STEADY_RUNS times, as it swings from run to run. */
const headlineRuns: SteadyResult[] = [];
if (PHASES.includes('steady')) {
  for (const rate of STEADY_RATES) {
    const isHeadline = String(rate) === HEADLINE_RATE;
    for (let run = 1; run <= (isHeadline ? STEADY_RUNS : 1); run++) {
      const result = await steadyRun(rate);
      steady.push(result);
      if (isHeadline) headlineRuns.push(result);
    }
  }
}
phaseSeconds.steady = round((performance.now() - phaseStart) / 1000, 1);
phaseStart = performance.now();

let latency: LatencySamples | undefined;
const latencyRuns: { missiveSendP99: number; batchWaitP99: number; rawSendP99: number }[] = [];
if (PHASES.includes('latency')) {
  latency = { missiveSend: [], batchWait: [], batchCall: [], batchEntries: [], rawSend: [] };
  for (let run = 1; run <= LATENCY_RUNS; run++) {
    const mark = { m: latency.missiveSend.length, w: latency.batchWait.length, r: latency.rawSend.length };
    // Alternate which side goes first, so drift over the phase hits both alike.
    if (run % 2 === 1) {
      await latencyRaw(latency);
      await latencyMissive(latency);
    } else {
      await latencyMissive(latency);
      await latencyRaw(latency);
    }
    const p99 = (values: number[]) =>
      round(
        percentile(
          [...values].sort((a, b) => a - b),
          0.99,
        ),
      );
    latencyRuns.push({
      missiveSendP99: p99(latency.missiveSend.slice(mark.m)),
      batchWaitP99: p99(latency.batchWait.slice(mark.w)),
      rawSendP99: p99(latency.rawSend.slice(mark.r)),
    });
    verbose(`latency run ${run}: ${JSON.stringify(latencyRuns.at(-1))}`);
  }
}

phaseSeconds.latency = round((performance.now() - phaseStart) / 1000, 1);
admin.destroy();
await server?.stop();
const benchSeconds = (performance.now() - benchStart) / 1000;

// ---------------------------------------------------------------------------------------------
// Results

const ratio = (a: number | undefined, b: number | undefined) =>
  a !== undefined && b !== undefined && b > 0 ? round(a / b, 4) : null;
/** The headline rate's run with the median requestsPerMessage. */
const headline = [...headlineRuns].sort((a, b) => a.requestsPerMessage - b.requestsPerMessage)[
  (headlineRuns.length - 1) >> 1
];
const latencySummary = latency && {
  missiveSendMs: summary(latency.missiveSend),
  batchWaitMs: summary(latency.batchWait),
  sendMessageBatchCallMs: summary(latency.batchCall),
  rawSendMessageMs: summary(latency.rawSend),
  averageEntriesPerSendMessageBatch: round(
    latency.batchEntries.reduce((sum, n) => sum + n, 0) / latency.batchEntries.length,
  ),
};
const batchingP99Ms = latencySummary ? latencySummary.batchWaitMs.p99 : null;
const producerRatio = ratio(throughput?.producer.missive, throughput?.producer.raw);
const consumerRatio = ratio(throughput?.consumer.missive, throughput?.consumer.raw);
const requestsPerMessage = headline ? headline.requestsPerMessage : null;

const results = {
  producerRatio,
  consumerRatio,
  requestsPerMessage,
  requestsPerMessageDefinition:
    `every SQS request of a producer and a consumer on one fresh queue, divided by the messages, with the producer ` +
    `${HEADLINE_RATE === 'max' ? 'sending flat out' : `paced at ${HEADLINE_RATE} msg/s`}; other rates, the breakdown by command and the figure without fauxqs's early ` +
    `empty receives are under steady`,
  batchingP99Ms,
  batchingP99Definition:
    `p99 over every message of the time from its producer.send() call to the start of the SendMessageBatch request ` +
    `carrying it (SDK middleware, initialize step): the wait batching adds, which batchLingerMs (${LINGER_MS} ms by ` +
    `default) bounds, plus event-loop lag. Sends paced at ${LATENCY_RATE} msg/s, open loop. Not p99(missive send) - ` +
    `p50(raw call): subtracting a median from a p99 bills the network and emulator tail to the batcher. End-to-end ` +
    `send latencies, and p99 - p99 against raw SendMessage at the same rate, are under latency for context.`,
  targets: {
    producerRatio: { target: '>= 0.8', met: producerRatio !== null && producerRatio >= 0.8 },
    consumerRatio: { target: '>= 0.8', met: consumerRatio !== null && consumerRatio >= 0.8 },
    requestsPerMessage: { target: '<= 0.35', met: requestsPerMessage !== null && requestsPerMessage <= 0.35 },
    batchingP99Ms: { target: '<= 20', met: batchingP99Ms !== null && batchingP99Ms <= 20 },
  },
  producer: throughput && {
    missiveMessagesPerSecond: throughput.producer.missive,
    rawMessagesPerSecond: throughput.producer.raw,
    rawWithEnvelopeAttributeMessagesPerSecond: throughput.producer.rawWithAttributes,
    ratioToRawWithEnvelopeAttribute: ratio(throughput.producer.missive, throughput.producer.rawWithAttributes),
    samples: {
      missive: throughput.runs.map((r) => Math.round(r.producer.missive)),
      raw: throughput.runs.map((r) => Math.round(r.producer.raw)),
      rawWithEnvelopeAttribute: throughput.runs.map((r) => Math.round(r.producer.rawWithAttributes)),
    },
    perRunRatios: throughput.runs.map((r) => round(r.producer.missive / r.producer.raw, 3)),
    missive: `createProducer(sqsQueue) with ${SENDERS} concurrent send() callers of one message each`,
    raw: `${SENDERS / 10} concurrent loops of SendMessageBatch(10), bare bodies`,
    rawWithEnvelopeAttribute:
      'the raw loops with a "missive" String attribute shaped like the envelope (a UUID and a timestamp as JSON) on ' +
      'every entry: the part of the gap that is the attribute (SDK serialising, hashing, bigger requests), not Missive code',
    cpuMsPer1000Messages: throughput.producerCpu,
    cpuRatio: ratio(throughput.producerCpu.raw.bench, throughput.producerCpu.missive.bench),
    missiveRequestsPerMessage: throughput.runs.map((r) => round(totalCalls(r.missiveProducerCounts) / MESSAGES, 4)),
  },
  consumer: throughput && {
    missiveMessagesPerSecond: throughput.consumer.missive,
    rawMessagesPerSecond: throughput.consumer.raw,
    rawWithAttributesMessagesPerSecond: throughput.consumer.rawWithAttributes,
    ratioToRawWithAttributes: ratio(throughput.consumer.missive, throughput.consumer.rawWithAttributes),
    samples: {
      missive: throughput.runs.map((r) => Math.round(r.consumer.missive)),
      raw: throughput.runs.map((r) => Math.round(r.consumer.raw)),
      rawWithAttributes: throughput.runs.map((r) => Math.round(r.consumer.rawWithAttributes)),
    },
    perRunRatios: throughput.runs.map((r) => round(r.consumer.missive / r.consumer.raw, 3)),
    missive: `createConsumer(sqsQueue), concurrency ${CONCURRENCY}, batchSize ${BATCH_SIZE} (${POLLERS} pollers), trivial handler`,
    raw: `${POLLERS} concurrent loops of ReceiveMessage(10, wait 20 s) -> handler -> DeleteMessageBatch, no attributes asked for`,
    rawWithAttributes:
      'the raw loops asking for the attributes Missive asks for (all message attributes and six system attributes), ' +
      'on messages carrying the envelope attribute',
    cpuMsPer1000Messages: throughput.consumerCpu,
    cpuRatio: ratio(throughput.consumerCpu.raw.bench, throughput.consumerCpu.missive.bench),
    missiveRequestsPerMessage: throughput.runs.map((r) => round(totalCalls(r.missiveConsumerCounts) / MESSAGES, 4)),
    missiveRequestsByCommand: throughput.runs.map((r) => r.missiveConsumerCounts.calls),
  },
  steady: {
    headline: headline?.rate ?? null,
    headlineRequestsPerMessageSamples: headlineRuns.map((r) => r.requestsPerMessage),
    headlineStatistic: `median of ${STEADY_RUNS} runs at the headline rate; the other rates ran once`,
    description:
      `producer and consumer (concurrency ${CONCURRENCY}, batchSize ${BATCH_SIZE}, default 20 s long poll) on one ` +
      `fresh queue and one client; paced rates send open loop (at most ${STEADY_SECONDS} s worth of messages), 'max' ` +
      `sends flat out with ${SENDERS} concurrent senders; every SQS request counted, including empty and aborted receives`,
    earlyEmptyReceives:
      `empty receives answered more than ${EARLY_EMPTY_MARGIN_MS} ms before their WaitTimeSeconds ran out. fauxqs ` +
      `wakes every waiting long poll when a message arrives (notifyWaiters), and all but the first come back empty at ` +
      `once; SQS answers a long poll early only with messages. requestsPerMessageWithoutEarlyEmpties is the closer ` +
      `estimate for SQS itself`,
    runs: steady,
  },
  latency: latencySummary && {
    rateMessagesPerSecond: LATENCY_RATE,
    messagesPerRun: LATENCY_MESSAGES,
    runs: LATENCY_RUNS,
    ...latencySummary,
    p99MissiveMinusP99RawSendMessageMs: round(latencySummary.missiveSendMs.p99 - latencySummary.rawSendMessageMs.p99),
    p99MissiveMinusP50SendMessageBatchCallMs: round(
      latencySummary.missiveSendMs.p99 - latencySummary.sendMessageBatchCallMs.p50,
    ),
    perRun: latencyRuns,
  },
  messages: {
    throughputPerRun: MESSAGES,
    throughputWarmup: WARMUP_MESSAGES,
    steadyMax: STEADY_MESSAGES,
    steadyPerRate: steady.map((s) => ({ rate: s.rate, messages: s.messages })),
    latencyPerRunAndSide: LATENCY_MESSAGES,
  },
  runs: RUNS,
  statistic:
    'throughput: median of the runs (msg/s = messages / elapsed); cpuRatio: raw / missive median CPU time of the ' +
    'bench process per message, which background load on the machine disturbs far less than wall-clock rates; ' +
    'latency: pooled samples of the runs',
  senders: SENDERS,
  concurrency: CONCURRENCY,
  batchSize: BATCH_SIZE,
  batchLingerMs: LINGER_MS,
  emulator: `fauxqs ${packageVersion('fauxqs')} in a child process on 127.0.0.1`,
  awsSdk: packageVersion('@aws-sdk/client-sqs'),
  ...environment(),
  benchSeconds: round(benchSeconds, 1),
  phaseSeconds,
  timestamp: new Date().toISOString(),
};

const format = (value: number | null | undefined) => (value == null ? '-' : value.toLocaleString('en-US'));
const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
console.log(
  `missive SQS transport on fauxqs: ${MESSAGES.toLocaleString('en-US')} messages per throughput run, median of ${RUNS}, ` +
    `${SENDERS} sends / ${CONCURRENCY} handlers in flight, node ${process.version}, ${round(benchSeconds, 1)} s`,
);
if (throughput) {
  console.log(
    `${''.padEnd(10)} ${'missive msg/s'.padStart(14)} ${'raw msg/s'.padStart(11)}   ${'ratio'.padEnd(7)}target       ` +
      `${'raw+attributes'.padStart(14)}  cpu us/msg missive/raw/raw+attr`,
  );
  const line = (name: string, sides: Record<Side, number>, cpu: Record<Side, Cpu>, r: number | null, ok: boolean) =>
    console.log(
      `${name.padEnd(10)} ${format(sides.missive).padStart(14)} ${format(sides.raw).padStart(11)}   ` +
        `${String(r).padEnd(7)}>= 0.8 ${met(ok).padEnd(7)}${format(sides.rawWithAttributes).padStart(14)}  ` +
        `${cpu.missive.bench}/${cpu.raw.bench}/${cpu.rawWithAttributes.bench}`,
    );
  line('producer', throughput.producer, throughput.producerCpu, producerRatio, results.targets.producerRatio.met);
  line('consumer', throughput.consumer, throughput.consumerCpu, consumerRatio, results.targets.consumerRatio.met);
}
for (const s of steady) {
  const by = Object.entries(s.requestsPerMessageByCommand)
    .map(([command, n]) => `${command} ${n}`)
    .join(', ');
  console.log(
    `requests/message @ ${String(s.rate === 'max' ? 'max' : `${s.rate}/s`).padEnd(7)} ${String(s.requestsPerMessage).padEnd(7)}` +
      `${s === headline ? ` (<= 0.35 ${met(results.targets.requestsPerMessage.met)})` : ''} ${by}; ${s.emptyReceives} empty receives (${s.earlyEmptyReceives} early; without those ${s.requestsPerMessageWithoutEarlyEmpties})`,
  );
}
if (latencySummary) {
  console.log(
    `batching p99 @ ${LATENCY_RATE}/s: ${batchingP99Ms} ms (<= 20 ${met(results.targets.batchingP99Ms.met)}); ` +
      `send p50/p99 missive ${latencySummary.missiveSendMs.p50}/${latencySummary.missiveSendMs.p99} ms, ` +
      `raw SendMessage ${latencySummary.rawSendMessageMs.p50}/${latencySummary.rawSendMessageMs.p99} ms, ` +
      `${latencySummary.averageEntriesPerSendMessageBatch} entries per batch`,
  );
}

writeResults('sqs', results);

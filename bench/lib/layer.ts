/**
 * The in-memory end-to-end run of bench/memory.ts, which bench/tracing.ts times with tracing on:
 * `createProducer` sending `sendBatch` chunks into a `memoryQueue` (with a dead-letter queue)
 * while `createConsumer` drains it, concurrent on one event loop, from the first send to the
 * last ack. Every handler is the same trivial async function (it sums `body.n`), and every run
 * is checked to have handled each message exactly once.
 */
import type { ConsumerOptions, createConsumer, createProducer, ProducerOptions } from '../../src/index.ts';
import type { memoryQueue } from '../../src/transports/memory/index.ts';
import { runProblems, timedOut } from '../lib.ts';

export interface Body {
  readonly n: number;
}

/** What a run handled, for the exactly-once check, and the problems it found. */
export interface Handled {
  readonly seen: Uint8Array;
  readonly sum: number;
  readonly problems: string[];
}

/** A timed run. */
export interface LayerRun extends Handled {
  readonly elapsedMs: number;
  /** CPU time of the process (all threads, user + system) over the timed section. */
  readonly cpuMs: number;
}

/** The handler every mode awaits: counts the message and sums a field of its body. */
export function makeHandler(
  count: number,
  seen: Uint8Array,
  total: { sum: number; handled: number },
  onLast: () => void,
) {
  return async (message: { readonly body: Body }): Promise<void> => {
    const n = message.body.n;
    seen[n] = (seen[n] as number) + 1;
    total.sum += n;
    if (++total.handled === count) onLast();
  };
}

/** Bodies are built outside the timed section, once per run, for every mode alike. */
export function makeBodies(count: number): Body[] {
  const bodies: Body[] = new Array(count);
  for (let n = 0; n < count; n++) bodies[n] = { n };
  return bodies;
}

/** CPU milliseconds (user + system) of this process since `since`. */
export function cpuMillis(since: NodeJS.CpuUsage): number {
  const { user, system } = process.cpuUsage(since);
  return (user + system) / 1000;
}

export interface LayerOptions {
  /** The measured src/'s functions (bench/memory.ts and bench/tracing.ts can load a BENCH_SRC copy). */
  readonly missive: {
    readonly createProducer: typeof createProducer;
    readonly createConsumer: typeof createConsumer;
    readonly memoryQueue: typeof memoryQueue;
  };
  readonly count: number;
  readonly concurrency: number;
  readonly batchSize: number;
  readonly sendChunk: number;
  readonly waitTimeMs: number;
  /** A run that has not finished after this long fails (a lost message, a stuck consumer). */
  readonly runTimeoutMs: number;
  /** The queue's name; its dead-letter queue is `${name}-dlq`. */
  readonly name: string;
  /** Added to the producer's options (telemetry). */
  readonly producer?: Pick<ProducerOptions<Body>, 'telemetry'>;
  /** Added to the consumer's options (telemetry, idempotency). */
  readonly consumer?: Pick<ConsumerOptions<Body>, 'telemetry' | 'idempotency'>;
}

/** One run of the full layer: producer and consumer concurrent on one event loop. */
export async function runLayer(options: LayerOptions): Promise<LayerRun> {
  const { createConsumer, createProducer, memoryQueue } = options.missive;
  const { count, sendChunk, runTimeoutMs } = options;
  const bodies = makeBodies(count);
  const items = bodies.map((body) => ({ body }));
  const chunks: { body: Body }[][] = [];
  for (let i = 0; i < items.length; i += sendChunk) chunks.push(items.slice(i, i + sendChunk));

  const deadLetters = memoryQueue({ name: `${options.name}-dlq` });
  const queue = memoryQueue({ name: options.name, deadLetterQueue: deadLetters });
  const seen = new Uint8Array(count);
  const total = { sum: 0, handled: 0 };
  const problems: string[] = [];
  let errors = 0;
  const problem = (text: string) => {
    if (++errors <= 10) problems.push(text);
  };

  let finish!: () => void;
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const producer = createProducer<Body>({ transport: queue, ...options.producer });
  const consumer = createConsumer<Body>({
    transport: queue,
    concurrency: options.concurrency,
    batchSize: options.batchSize,
    waitTimeMs: options.waitTimeMs,
    onError: (error) => problem(`consumer error: ${error.message}`),
    handler: makeHandler(count, seen, total, () => {
      // The last handler returned; its ack follows in microtasks, which all run before
      // setImmediate. Poll until the consumer reports every message acked.
      const check = () => {
        if (consumer.stats().acked + consumer.stats().duplicates >= count) finish();
        else setImmediate(check);
      };
      setImmediate(check);
    }),
    ...options.consumer,
  });

  const cpuStart = process.cpuUsage();
  const start = performance.now();
  consumer.start();
  // The producer runs concurrently with the consumer on the same event loop: each sendBatch
  // resolves through microtasks, between which the consumer's receive loop and handlers run.
  for (const chunk of chunks) {
    const results = await producer.sendBatch(chunk);
    for (const result of results) if (result.status !== 'sent') problem(`send failed: ${result.error.message}`);
  }
  const late = await timedOut(finished, runTimeoutMs);
  const elapsedMs = performance.now() - start;
  const cpuMs = cpuMillis(cpuStart);
  if (late) {
    const stats = consumer.stats();
    problems.unshift(
      `run did not finish within ${runTimeoutMs} ms: ${total.handled} handled, ${stats.acked} acked, ` +
        `${stats.retried} retried, ${stats.deadLettered} dead-lettered, ${errors} errors`,
    );
  }

  if (errors > 10) problems.push(`… and ${errors - 10} more errors`);
  await consumer.stop();
  await producer.close();
  problems.push(...runProblems(consumer.stats(), count, queue.counts(), deadLetters.counts()));
  return { elapsedMs, cpuMs, seen, sum: total.sum, problems };
}

/**
 * Exits with code 1 unless every message was handled exactly once (each index seen once, and
 * the sum of all indices) and the run found no problems.
 */
export function verifyRun(count: number, mode: string, run: string, result: Handled): void {
  const problems = [...result.problems];
  let missing = 0;
  let repeated = 0;
  for (let n = 0; n < count; n++) {
    const times = result.seen[n] as number;
    if (times === 0) missing++;
    else if (times > 1) repeated++;
  }
  if (missing > 0) problems.push(`${missing} messages never handled`);
  if (repeated > 0) problems.push(`${repeated} messages handled more than once`);
  const expectedSum = (count * (count - 1)) / 2;
  if (result.sum !== expectedSum) problems.push(`sum ${result.sum}, expected ${expectedSum}`);
  if (problems.length > 0) {
    console.error(`FAIL ${mode} (${run}): ${problems.slice(0, 10).join('; ')}`);
    process.exit(1);
  }
}

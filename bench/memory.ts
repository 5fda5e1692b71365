/**
 * In-memory end-to-end throughput of the reliability layer, against a bare array-queue baseline.
 *
 *   node bench/memory.ts          # 200 000 messages per run; median of 5 runs per mode (~15 s)
 *   BENCH_MESSAGES=50000 BENCH_RUNS=3 node bench/memory.ts
 *   BENCH_MODES=layer node --cpu-prof bench/memory.ts      # profile one mode
 *   BENCH_SRC=/tmp/src-copy/src node bench/memory.ts       # measure a prototype copy of src/
 *
 * Modes, each handling every message with the same trivial async handler (it sums `body.n`) and
 * the same concurrency (256):
 * - baseline: push N items onto a plain array; 256 async workers index through it and await the
 *   handler. No encoding, no acks: the floor any queue pays for awaiting a handler.
 * - layer: `createProducer` on a `memoryQueue` (`sendBatch` of 1 000) and `createConsumer`
 *   (batchSize 256, ack after the handler, idempotency off), running concurrently on one event
 *   loop: the clock starts before the first send and stops once the last message is acked.
 *   A batch of 1 000 outruns the consumer, so most messages wait in the queue for a while.
 * - idempotent: the same with `memoryIdempotencyStore()` (a fresh store per run).
 * - layer-small-chunks: the layer with `sendBatch` of 100, where the consumer keeps up and the
 *   queue stays near empty.
 * Each mode has one warm-up run (the baseline more, see BASELINE_WARMUPS) and a full GC before
 * every run. Every run checks that each message was handled exactly once, that the queue and its
 * dead-letter queue are empty, and that nothing was retried, dead-lettered or reported; a run
 * that does not finish within BENCH_RUN_TIMEOUT_MS fails too. Any failure exits with code 1.
 * Results go to bench/results/memory.json (BENCH_NO_WRITE=1 skips it; BENCH_VERBOSE=1 prints
 * every run).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import type * as Missive from '../src/index.ts';
import type * as MissiveMemory from '../src/transports/memory/index.ts';
import { gitCommit, intFromEnv, median, runProblems } from './lib.ts';

const here = dirname(fileURLToPath(import.meta.url));
const srcRoot = process.env.BENCH_SRC ? resolve(process.env.BENCH_SRC) : resolve(here, '../src');
const missive: typeof Missive = await import(pathToFileURL(resolve(srcRoot, 'index.ts')).href);
const memory: typeof MissiveMemory = await import(pathToFileURL(resolve(srcRoot, 'transports/memory/index.ts')).href);
const { createConsumer, createProducer, memoryIdempotencyStore } = missive;
const { memoryQueue } = memory;

const MESSAGES = intFromEnv('BENCH_MESSAGES', 200_000);
const RUNS = intFromEnv('BENCH_RUNS', 5);
const CONCURRENCY = intFromEnv('BENCH_CONCURRENCY', 256);
const BATCH_SIZE = intFromEnv('BENCH_BATCH_SIZE', 256);
const SEND_CHUNK = intFromEnv('BENCH_SEND_CHUNK', 1_000);
const SMALL_SEND_CHUNK = 100;
const WAIT_TIME_MS = 50;
/** A run that has not finished after this long fails the bench (a lost message, a stuck consumer). */
const RUN_TIMEOUT_MS = intFromEnv('BENCH_RUN_TIMEOUT_MS', 30_000);
/**
 * The baseline's run is ~30x shorter than the others (tens of milliseconds), so JIT tiering and
 * single scavenges swing it: it gets more warm-up and three times the runs.
 */
const BASELINE_WARMUPS = 5;
const BASELINE_RUNS = RUNS * 3;
const ALL_MODES = ['baseline', 'layer', 'idempotent', 'layer-small-chunks'] as const;
type Mode = (typeof ALL_MODES)[number];
const MODES: Mode[] = process.env.BENCH_MODES
  ? (process.env.BENCH_MODES.split(',').map((m) => m.trim()) as Mode[])
  : [...ALL_MODES];
for (const mode of MODES) if (!ALL_MODES.includes(mode)) throw new Error(`Unknown mode ${mode}`);

interface Body {
  readonly n: number;
}

/** What a run measured and what it handled, for the exactly-once check. */
interface RunResult {
  readonly elapsedMs: number;
  readonly seen: Uint8Array;
  readonly sum: number;
  readonly problems: string[];
}

/** The handler every mode awaits: counts the message and sums a field of its body. */
function makeHandler(seen: Uint8Array, total: { sum: number; handled: number }, onLast: () => void) {
  return async (message: { readonly body: Body }): Promise<void> => {
    const n = message.body.n;
    seen[n] = (seen[n] as number) + 1;
    total.sum += n;
    if (++total.handled === MESSAGES) onLast();
  };
}

/** Bodies are built outside the timed section, once per run, for every mode alike. */
function makeBodies(): Body[] {
  const bodies: Body[] = new Array(MESSAGES);
  for (let n = 0; n < MESSAGES; n++) bodies[n] = { n };
  return bodies;
}

async function runBaseline(): Promise<RunResult> {
  const bodies = makeBodies();
  const seen = new Uint8Array(MESSAGES);
  const total = { sum: 0, handled: 0 };
  const handler = makeHandler(seen, total, () => undefined);
  const start = performance.now();
  const queue: { body: Body }[] = [];
  for (let n = 0; n < MESSAGES; n++) queue.push({ body: bodies[n] as Body });
  let next = 0;
  const worker = async () => {
    while (next < queue.length) {
      const item = queue[next] as { body: Body };
      queue[next++] = undefined as unknown as { body: Body };
      await handler(item);
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < CONCURRENCY; i++) workers.push(worker());
  await Promise.all(workers);
  const elapsedMs = performance.now() - start;
  return { elapsedMs, seen, sum: total.sum, problems: [] };
}

async function runLayer(idempotent: boolean, sendChunk: number): Promise<RunResult> {
  const bodies = makeBodies();
  const items = bodies.map((body) => ({ body }));
  const chunks: { body: Body }[][] = [];
  for (let i = 0; i < items.length; i += sendChunk) chunks.push(items.slice(i, i + sendChunk));

  const deadLetters = memoryQueue({ name: 'bench-dlq' });
  const queue = memoryQueue({ name: 'bench', deadLetterQueue: deadLetters });
  const seen = new Uint8Array(MESSAGES);
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

  const producer = createProducer<Body>({ transport: queue });
  const consumer = createConsumer<Body>({
    transport: queue,
    concurrency: CONCURRENCY,
    batchSize: BATCH_SIZE,
    waitTimeMs: WAIT_TIME_MS,
    onError: (error) => problem(`consumer error: ${error.message}`),
    handler: makeHandler(seen, total, () => {
      // The last handler returned; its ack follows in microtasks, which all run before
      // setImmediate. Poll until the consumer reports every message acked.
      const check = () => {
        if (consumer.stats().acked + consumer.stats().duplicates >= MESSAGES) finish();
        else setImmediate(check);
      };
      setImmediate(check);
    }),
    ...(idempotent ? { idempotency: { store: memoryIdempotencyStore() } } : {}),
  });

  const start = performance.now();
  consumer.start();
  // The producer runs concurrently with the consumer on the same event loop: each sendBatch
  // resolves through microtasks, between which the consumer's receive loop and handlers run.
  for (const chunk of chunks) {
    const results = await producer.sendBatch(chunk);
    for (const result of results) if (result.status !== 'sent') problem(`send failed: ${result.error.message}`);
  }
  // A ref'd timer: it fails a stuck run, and keeps the process alive even if every timer left
  // in the library is unref'd (the queue's are).
  let timer: NodeJS.Timeout | undefined;
  const timedOut = await Promise.race([
    finished.then(() => false),
    new Promise<boolean>((resolve) => {
      timer = setTimeout(() => resolve(true), RUN_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
  const elapsedMs = performance.now() - start;
  if (timedOut) {
    const stats = consumer.stats();
    problems.unshift(
      `run did not finish within ${RUN_TIMEOUT_MS} ms: ${total.handled} handled, ${stats.acked} acked, ` +
        `${stats.retried} retried, ${stats.deadLettered} dead-lettered, ${errors} errors`,
    );
  }

  if (errors > 10) problems.push(`… and ${errors - 10} more errors`);
  await consumer.stop();
  await producer.close();
  problems.push(...runProblems(consumer.stats(), MESSAGES, queue.counts(), deadLetters.counts()));
  return { elapsedMs, seen, sum: total.sum, problems };
}

/** Every message handled exactly once: each index seen once, and the sum of all indices. */
function verify(mode: Mode, run: string, result: RunResult): void {
  const problems = [...result.problems];
  let missing = 0;
  let repeated = 0;
  for (let n = 0; n < MESSAGES; n++) {
    const count = result.seen[n] as number;
    if (count === 0) missing++;
    else if (count > 1) repeated++;
  }
  if (missing > 0) problems.push(`${missing} messages never handled`);
  if (repeated > 0) problems.push(`${repeated} messages handled more than once`);
  const expectedSum = (MESSAGES * (MESSAGES - 1)) / 2;
  if (result.sum !== expectedSum) problems.push(`sum ${result.sum}, expected ${expectedSum}`);
  if (problems.length > 0) {
    console.error(`FAIL ${mode} (${run}): ${problems.slice(0, 10).join('; ')}`);
    process.exit(1);
  }
}

const runners: Record<Mode, () => Promise<RunResult>> = {
  baseline: runBaseline,
  layer: () => runLayer(false, SEND_CHUNK),
  idempotent: () => runLayer(true, SEND_CHUNK),
  'layer-small-chunks': () => runLayer(false, SMALL_SEND_CHUNK),
};

// A full collection before each run, so garbage of the previous run is not billed to the next.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const rates: Record<string, number[]> = {};
for (const mode of MODES) {
  rates[mode] = [];
  const warmups = mode === 'baseline' ? BASELINE_WARMUPS : 1;
  const runs = mode === 'baseline' ? BASELINE_RUNS : RUNS;
  for (let run = 1 - warmups; run <= runs; run++) {
    gc();
    // Let timers and pending I/O of the previous run settle before the next one starts.
    await new Promise((resolve) => setTimeout(resolve, 10));
    const result = await runners[mode]();
    const label = run <= 0 ? 'warm-up' : `run ${run}`;
    verify(mode, label, result);
    const rate = MESSAGES / (result.elapsedMs / 1000);
    if (run > 0) rates[mode]?.push(rate);
    if (process.env.BENCH_VERBOSE)
      console.log(`${mode} ${label}: ${Math.round(rate)} msg/s (${result.elapsedMs.toFixed(1)} ms)`);
  }
}

const medianOf = (mode: Mode) => (rates[mode]?.length ? Math.round(median(rates[mode])) : null);
const versusBaseline = (value: number | null) =>
  value !== null && baselineMessagesPerSecond ? Number((value / baselineMessagesPerSecond).toFixed(4)) : null;
const baselineMessagesPerSecond = medianOf('baseline');
const messagesPerSecond = medianOf('layer');
const idempotentMessagesPerSecond = medianOf('idempotent');
const smallChunksMessagesPerSecond = medianOf('layer-small-chunks');
const ratio = versusBaseline(messagesPerSecond);

const results = {
  messagesPerSecond,
  baselineMessagesPerSecond,
  ratio,
  idempotentMessagesPerSecond,
  idempotentRatio: versusBaseline(idempotentMessagesPerSecond),
  messagesPerSecondBySendChunk: { [SEND_CHUNK]: messagesPerSecond, [SMALL_SEND_CHUNK]: smallChunksMessagesPerSecond },
  target: { messagesPerSecond: 500_000, met: messagesPerSecond !== null && messagesPerSecond >= 500_000 },
  messages: MESSAGES,
  runs: { baseline: BASELINE_RUNS, others: RUNS },
  warmupRuns: { baseline: BASELINE_WARMUPS, others: 1 },
  statistic: 'median of the runs (msg/s = messages / elapsed)',
  concurrency: CONCURRENCY,
  batchSize: BATCH_SIZE,
  sendChunk: SEND_CHUNK,
  waitTimeMs: WAIT_TIME_MS,
  producerAndConsumer:
    'concurrent on one event loop, timed from the first send to the last ack; with sendChunk 1000 the producer ' +
    `outruns the consumer (a backlog of most messages builds up), with ${SMALL_SEND_CHUNK} the queue stays near empty`,
  handler: 'async, sums body.n; the same for every mode',
  samples: Object.fromEntries(Object.entries(rates).map(([mode, values]) => [mode, values.map(Math.round)])),
  node: process.version,
  platform: `${process.platform}-${process.arch}`,
  cpus: availableParallelism(),
  src: process.env.BENCH_SRC ? srcRoot : 'src',
  commit: gitCommit(),
  timestamp: new Date().toISOString(),
};

const format = (value: number | null) => (value === null ? '-' : value.toLocaleString('en-US'));
console.log(
  `missive in-memory throughput: ${MESSAGES.toLocaleString('en-US')} messages, median of ${RUNS} runs, ` +
    `concurrency ${CONCURRENCY}, batchSize ${BATCH_SIZE}, node ${process.version}`,
);
console.log(`${'mode'.padEnd(40)} ${'msg/s'.padStart(11)}   vs baseline`);
const row = (name: string, value: number | null) => {
  const share = versusBaseline(value);
  console.log(
    `${name.padEnd(40)} ${format(value).padStart(11)}   ${share === null ? '-' : `${(share * 100).toFixed(1)}%`}`,
  );
};
row('baseline (plain array)', baselineMessagesPerSecond);
row(`full layer (sendBatch of ${SEND_CHUNK})`, messagesPerSecond);
row(`full layer + idempotency (of ${SEND_CHUNK})`, idempotentMessagesPerSecond);
row(`full layer (sendBatch of ${SMALL_SEND_CHUNK})`, smallChunksMessagesPerSecond);
if (messagesPerSecond !== null) {
  console.log(`target 500,000 msg/s through the full layer: ${results.target.met ? 'met' : 'not met'}`);
}

if (!process.env.BENCH_NO_WRITE) {
  const out = resolve(here, 'results/memory.json');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${out}`);
}

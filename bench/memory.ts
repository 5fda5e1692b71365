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
import type * as Missive from '../src/index.ts';
import type * as MissiveMemory from '../src/transports/memory/index.ts';
import { type Body, type Handled, makeBodies, makeHandler, runLayer, verifyRun } from './lib/layer.ts';
import { choicesFromEnv, environment, importSrc, intFromEnv, median, settle, verbose, writeResults } from './lib.ts';

const missive = {
  ...(await importSrc<typeof Missive>('index.ts')),
  ...(await importSrc<typeof MissiveMemory>('transports/memory/index.ts')),
};

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
const MODES = choicesFromEnv('BENCH_MODES', ALL_MODES, 'mode');

/** What a run measured and what it handled, for the exactly-once check. */
type RunResult = Handled & { readonly elapsedMs: number };

async function runBaseline(): Promise<RunResult> {
  const bodies = makeBodies(MESSAGES);
  const seen = new Uint8Array(MESSAGES);
  const total = { sum: 0, handled: 0 };
  const handler = makeHandler(MESSAGES, seen, total, () => undefined);
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

/** The full layer, with a fresh idempotency store per run if `idempotent`. */
function runMemoryLayer(idempotent: boolean, sendChunk: number): Promise<RunResult> {
  return runLayer({
    missive,
    count: MESSAGES,
    concurrency: CONCURRENCY,
    batchSize: BATCH_SIZE,
    sendChunk,
    waitTimeMs: WAIT_TIME_MS,
    runTimeoutMs: RUN_TIMEOUT_MS,
    name: 'bench',
    ...(idempotent ? { consumer: { idempotency: { store: missive.memoryIdempotencyStore() } } } : {}),
  });
}

const runners: Record<Mode, () => Promise<RunResult>> = {
  baseline: runBaseline,
  layer: () => runMemoryLayer(false, SEND_CHUNK),
  idempotent: () => runMemoryLayer(true, SEND_CHUNK),
  'layer-small-chunks': () => runMemoryLayer(false, SMALL_SEND_CHUNK),
};

const rates: Record<string, number[]> = {};
for (const mode of MODES) {
  rates[mode] = [];
  const warmups = mode === 'baseline' ? BASELINE_WARMUPS : 1;
  const runs = mode === 'baseline' ? BASELINE_RUNS : RUNS;
  for (let run = 1 - warmups; run <= runs; run++) {
    await settle(10);
    const result = await runners[mode]();
    const label = run <= 0 ? 'warm-up' : `run ${run}`;
    verifyRun(MESSAGES, mode, label, result);
    const rate = MESSAGES / (result.elapsedMs / 1000);
    if (run > 0) rates[mode]?.push(rate);
    verbose(`${mode} ${label}: ${Math.round(rate)} msg/s (${result.elapsedMs.toFixed(1)} ms)`);
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
  ...environment(),
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

writeResults('memory', results);

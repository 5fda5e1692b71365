/**
 * The orders demo: 2,000 orders through a producer, a flaky handler and a dead-letter queue, on
 * the in-memory transport with the system clock, then proof that nothing was lost or done twice.
 *
 *   npm run demo                          # seed 42, live progress, then the summary
 *   npm run demo -- --seed 7 --quiet      # another reproducible run, summary only
 *   npm run demo -- --trace               # with OpenTelemetry: prints the trace of one retried message
 *
 * What happens: about 20% of handler calls fail transiently and are retried with backoff; 5
 * poison orders fail for good and go to the dead-letter queue at once; 50 orders are sent again
 * under the same idempotency key and the idempotency store suppresses the later copy. Exits 1
 * if any order was lost or processed twice.
 *
 * With --trace, the real OpenTelemetry SDK records every send and delivery attempt in memory
 * (demo/tracing.ts), and the run ends with the trace of one retried message as an indented tree:
 * its send, each attempt with its outcome and duration. Without it, no OpenTelemetry code loads.
 */
import { setTimeout as delay } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import {
  createConsumer,
  createProducer,
  memoryIdempotencyStore,
  readFailureHeaders,
  UnrecoverableError,
} from '../src/index.ts';
import { memoryQueue } from '../src/transports/memory/index.ts';
import { chance, mulberry32, n, printSummary, type RunReport, startProgress, verify } from './report.ts';

const ORDERS = 2_000;
const POISON = 5;
const DUPLICATES = 50;
const FAILURE_RATE = 0.2;
const SEND_CHUNK = 100;
const TIMEOUT_MS = 15_000;

const usage = 'usage: node demo/orders.ts [--seed N] [--quiet] [--trace]';
let args: { seed: string; quiet: boolean; trace: boolean };
try {
  const options = {
    seed: { type: 'string', default: '42' },
    quiet: { type: 'boolean', default: false },
    trace: { type: 'boolean', default: false },
  } as const;
  args = parseArgs({ options }).values;
} catch (error) {
  console.error(`${(error as Error).message}\n${usage}`);
  process.exit(2);
}
const seed = Number(args.seed);
if (args.seed.trim() === '' || !Number.isSafeInteger(seed)) {
  console.error(`--seed must be an integer, got ${JSON.stringify(args.seed)}\n${usage}`);
  process.exit(2);
}

interface Order {
  readonly orderId: string;
  readonly customer: string;
  /** Negative for the poison orders: a business rule rejects them, and no retry can help. */
  readonly totalCents: number;
}

// The plan, drawn from the seed: which orders are poison, which are sent twice, and where.
const random = mulberry32(seed);
const pick = (count: number) => Math.floor(random() * count);
const orders: Order[] = Array.from({ length: ORDERS }, (_, i) => ({
  orderId: `ord-${String(i + 1).padStart(5, '0')}`,
  customer: `cus-${String(pick(300)).padStart(3, '0')}`,
  totalCents: 500 + pick(50_000),
}));
const poison = new Set<string>();
while (poison.size < POISON) {
  const i = pick(ORDERS);
  orders[i] = { ...(orders[i] as Order), totalCents: -1 };
  poison.add((orders[i] as Order).orderId);
}
// The duplicates: orders sent again (same body, same idempotency key) a little later, up to 300
// messages after the first copy, as a producer does after a send whose outcome it could not tell.
const resent = new Map<number, number>(); // index of the order → position of its second copy
while (resent.size < DUPLICATES) {
  const i = pick(ORDERS);
  if (!poison.has((orders[i] as Order).orderId)) resent.set(i, i + 1 + pick(300));
}
const outgoing = [
  ...orders.map((order, i) => ({ at: i, order })),
  ...[...resent].map(([i, at]) => ({ at: at - 0.5, order: orders[i] as Order })),
]
  .sort((a, b) => a.at - b.at)
  .map(({ order }) => ({ body: order, idempotencyKey: order.orderId }));

// The transport: an orders queue whose dead letters go to orders-dlq.
const deadLetterQueue = memoryQueue({ name: 'orders-dlq' });
const queue = memoryQueue({ name: 'orders', deadLetterQueue });

// Under --trace only: the SDK is imported on demand, so a plain run never loads it.
const tracing = args.trace ? (await import('./tracing.ts')).startTracing() : undefined;
const telemetry = tracing ? { telemetry: tracing.telemetry } : {};

const producer = createProducer<Order>({ transport: queue, ...telemetry });

const handled = new Map<string, number>(); // successful handler runs per order: must end at 0 or 1
const calls = new Map<string, number>(); // handler calls per order, failed ones included
const consumerErrors: string[] = []; // the first few errors outside handlers; there should be none
let consumerErrorCount = 0;

const consumer = createConsumer<Order>({
  transport: queue,
  ...telemetry,
  concurrency: 50,
  retry: { maxAttempts: 5, backoff: { initialDelayMs: 5, maxDelayMs: 100 } },
  idempotency: { store: memoryIdempotencyStore() },
  random: mulberry32(seed + 1), // backoff jitter
  stopTimeoutMs: 1_000,
  onError: (error) => {
    if (++consumerErrorCount <= 5) consumerErrors.push(error.message);
  },
  handler: async ({ body: order }) => {
    const call = (calls.get(order.orderId) ?? 0) + 1;
    calls.set(order.orderId, call);
    await delay(5 + Math.floor(chance(seed, order.orderId, 'work') * 20)); // 5–24 ms of "work"
    if (order.totalCents < 0) throw new UnrecoverableError(`order ${order.orderId} has a negative total`);
    // Whether call k for an order fails depends only on the seed, the order and k: reproducible.
    if (chance(seed, order.orderId, call) < FAILURE_RATE) throw new Error('payment service timed out (simulated)');
    handled.set(order.orderId, (handled.get(order.orderId) ?? 0) + 1);
  },
});

// Run: start consuming, send everything in batches, and wait until every message is settled.
let sent = 0;
let sendFailures = 0;
const orderOfMessage = new Map<string, string>(); // message id → order id, for the trace (--trace only)
const started = performance.now();
const seconds = () => ((performance.now() - started) / 1000).toFixed(1);
const progress = startProgress(args.quiet, () => {
  const s = consumer.stats();
  return (
    `[${seconds()} s] ${n(s.acked + s.duplicates + s.deadLettered)}/${n(outgoing.length)} settled · ` +
    `${n(s.retried)} retried · ${n(s.deadLettered)} in DLQ · ${n(s.duplicates)} duplicates · ${n(s.inFlight)} in flight`
  );
});
consumer.start();
for (let i = 0; i < outgoing.length; i += SEND_CHUNK) {
  const chunk = outgoing.slice(i, i + SEND_CHUNK);
  for (const [j, result] of (await producer.sendBatch(chunk)).entries()) {
    if (result.status === 'sent') sent++;
    else sendFailures++;
    if (tracing) orderOfMessage.set(result.id, (chunk[j] as (typeof chunk)[number]).body.orderId);
  }
}
await producer.close();

const settled = () => {
  const s = consumer.stats();
  const q = queue.counts();
  return s.acked + s.duplicates + s.deadLettered >= sent && q.visible + q.inFlight + q.delayed === 0;
};
while (!settled() && performance.now() - started < TIMEOUT_MS) await delay(5);
const timedOut = !settled();
const elapsedMs = performance.now() - started;
progress.stop();
const { released } = await consumer.stop();

// Read the dead letters back: each carries why it failed in its headers.
const letters = await deadLetterQueue.receive({ maxMessages: Math.max(1, sent), waitTimeMs: 0 });
const deadLetters = letters.map((letter) => ({
  orderId: letter.envelope.idempotencyKey,
  failure: readFailureHeaders(letter.envelope.headers),
}));

const report: RunReport = {
  seed,
  orders: orders.map((order) => order.orderId),
  poison,
  duplicatesSent: resent.size,
  sent,
  sendFailures,
  handled,
  deadLetters,
  stats: consumer.stats(),
  queue: queue.counts(),
  released,
  elapsedMs,
  timedOut,
  consumerErrors,
  consumerErrorCount,
};
const problems = verify(report);
if (tracing) {
  await tracing.print((id) => orderOfMessage.get(id));
  await tracing.shutdown();
}
printSummary(report, problems);
if (problems.length > 0) process.exitCode = 1;

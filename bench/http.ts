/**
 * Webhook delivery throughput: Missive's full sender against a raw undici pool posting the same
 * bodies to the same local keep-alive server, in one run.
 *
 *   node bench/http.ts                                 # 60 000 requests per run, median of 5 runs per mode (~35 s)
 *   BENCH_REQUESTS=5000 BENCH_RUNS=3 node bench/http.ts
 *   BENCH_MODES=full node --cpu-prof bench/http.ts     # profile the sender (the server runs in a child)
 *   BENCH_SRC=/tmp/hproto/src node bench/http.ts       # measure a prototype copy of src/
 *
 * The receiver (bench/http-server.ts) is a node:http server on 127.0.0.1 in a child process, so
 * it has an event loop and a core of its own. It reads each body, counts the request and
 * answers 204, keeping connections alive (keepAliveTimeout 120 s). Modes, each with CONCURRENCY
 * (32) callers that each await one request at a time, and CONCURRENCY connections:
 * - full: `createProducer({ transport: webhookTarget({ url, secret, allowAddresses: ['loopback'],
 *   maxConnections }) })`, every caller awaiting `producer.send(event)`. Each message is JSON
 *   encoded, gets a UUIDv7 id, is signed (HMAC-SHA256, Standard Webhooks headers) and POSTed
 *   with its Missive headers, through the producer's retry layer and the circuit breaker.
 * - baseline: a raw undici `Pool` with the same number of connections, every caller awaiting
 *   `pool.request({ method: 'POST', headers: { 'content-type': 'application/json' }, body:
 *   JSON.stringify(event) })` and draining the response: what a hand-written sender without
 *   signing or retries does. `ratio` is full / baseline.
 * - raw-signed: the same pool, sending what Missive sends: the same headers (a random UUID as id,
 *   webhook-id, webhook-timestamp, a `v1,` HMAC-SHA256 signature made with node:crypto and a
 *   key imported once, content-type, user-agent, missive-message-id, missive-created-at). What a
 *   careful hand-written Standard Webhooks sender costs, without retries or a breaker: the gap
 *   between it and baseline is the protocol's, the gap between full and it is Missive's code.
 * The events are the same ~300-byte JSON objects (an order.paid event) in both modes, built
 * before the clock starts. Each mode has BENCH_WARMUP_RUNS warm-up runs; the measured runs
 * alternate the order of the modes from round to round, to spread drift evenly, and each starts
 * after a full GC, with a fresh producer / pool (connecting is part of a run, alike in both).
 *
 * Checks (any failure exits with code 1, and the server child is killed): per run, the server
 * counted exactly the requests sent and exactly the body bytes expected, every one a POST with
 * content-type application/json, over at most CONCURRENCY connections; in full mode every
 * request was signed and the sampled signatures verify, in baseline mode none was signed; no send
 * failed and no response was other than 204; a run finishing later than BENCH_RUN_TIMEOUT_MS
 * fails, and so does the whole bench after BENCH_TIMEOUT_MS.
 *
 * Besides msg/s, each run records the client's CPU time per message (the cost of the sender
 * itself, which a 2-core machine's throughput may hide) and the server's CPU utilisation (near
 * 100% means the server, not the client, limited the run).
 * Results go to bench/results/http.json (BENCH_NO_WRITE=1 skips it; BENCH_VERBOSE=1 prints
 * every run).
 */
import { createHmac, createSecretKey, randomUUID } from 'node:crypto';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Pool } from 'undici';
import type * as Missive from '../src/index.ts';
import type * as MissiveHttp from '../src/transports/http/index.ts';
import type { Stats } from './http-server.ts';
import { forkServer } from './lib/child.ts';
import {
  choicesFromEnv,
  environment,
  fail,
  importSrc,
  intFromEnv,
  median,
  settle,
  timedOut,
  verbose,
  writeResults,
} from './lib.ts';

const here = dirname(fileURLToPath(import.meta.url));
const { createProducer } = await importSrc<typeof Missive>('index.ts');
const { webhookTarget } = await importSrc<typeof MissiveHttp>('transports/http/index.ts');

const REQUESTS = intFromEnv('BENCH_REQUESTS', 60_000);
const RUNS = intFromEnv('BENCH_RUNS', 5);
const WARMUP_RUNS = intFromEnv('BENCH_WARMUP_RUNS', 2);
const WARMUP_REQUESTS = intFromEnv('BENCH_WARMUP_REQUESTS', 5_000);
/** Concurrent callers, and connections in both modes. */
const CONCURRENCY = intFromEnv('BENCH_CONCURRENCY', 32);
const RUN_TIMEOUT_MS = intFromEnv('BENCH_RUN_TIMEOUT_MS', 30_000);
/** The whole bench fails after this long, whatever it is doing. */
const TIMEOUT_MS = intFromEnv('BENCH_TIMEOUT_MS', 180_000);
const TARGET_RATIO = 0.8;
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const PATH = '/hooks/orders';
const ALL_MODES = ['full', 'baseline', 'raw-signed'] as const;
type Mode = (typeof ALL_MODES)[number];
const MODES = choicesFromEnv('BENCH_MODES', ALL_MODES, 'mode');

// Unref'd: it fails a hung bench, but does not keep a finished one alive.
setTimeout(() => fail('bench', [`did not finish within BENCH_TIMEOUT_MS (${TIMEOUT_MS} ms)`]), TIMEOUT_MS).unref();

// ---------------------------------------------------------------------------------------------
// The receiver, in a child process

const waiting = new Map<number, (stats: Stats) => void>();
let lastAsk = 0;
/** Resets the server's counts, or asks for them; answered over IPC. */
function askServer(cmd: 'reset' | 'stats'): Promise<Stats> {
  const id = ++lastAsk;
  return new Promise((resolveStats, reject) => {
    const timer = setTimeout(() => reject(new Error(`the server did not answer ${cmd} within 5 s`)), 5_000);
    waiting.set(id, (stats) => {
      clearTimeout(timer);
      resolveStats(stats);
    });
    server.child.send({ id, cmd });
  });
}

// ---------------------------------------------------------------------------------------------
// The events

interface OrderPaid {
  readonly type: 'order.paid';
  readonly n: number;
  readonly orderId: string;
  readonly customer: { readonly id: string; readonly email: string; readonly name: string };
  readonly amount: { readonly currency: string; readonly value: number };
  readonly items: readonly { readonly sku: string; readonly quantity: number; readonly unitPrice: number }[];
  readonly paidAt: string;
}

/** A realistic event of about 300 bytes of JSON; `n` makes every one different. */
function event(n: number): OrderPaid {
  const a = 1_000 + (n % 9_000);
  const b = 500 + ((n * 7) % 4_000);
  return {
    type: 'order.paid',
    n,
    orderId: `ord_${String(n).padStart(10, '0')}`,
    customer: {
      id: `cus_${(n * 7_919).toString(36).padStart(8, '0')}`,
      email: `buyer${n}@example.com`,
      name: 'Ada Lovelace',
    },
    amount: { currency: 'EUR', value: 2 * a + b },
    items: [
      { sku: `SKU-${n % 997}`, quantity: 2, unitPrice: a },
      { sku: `SKU-${(n * 31) % 997}`, quantity: 1, unitPrice: b },
    ],
    paidAt: new Date(Date.UTC(2026, 10, 24, 12) + n * 1_000).toISOString(),
  };
}

const EVENT_COUNT = Math.max(REQUESTS, WARMUP_REQUESTS);
const events: OrderPaid[] = Array.from({ length: EVENT_COUNT }, (_, n) => event(n));
/** Body bytes of the first `count` events, for the server's byte count. */
const bytesOfFirst: number[] = [0];
for (const item of events) bytesOfFirst.push((bytesOfFirst.at(-1) as number) + Buffer.byteLength(JSON.stringify(item)));
const meanBodyBytes = Math.round((bytesOfFirst[EVENT_COUNT] as number) / EVENT_COUNT);

// ---------------------------------------------------------------------------------------------
// The runs

interface RunResult {
  readonly elapsedMs: number;
  /** Client CPU time (user + system) during the timed part, in microseconds. */
  readonly clientCpuUs: number;
  readonly problems: string[];
}

/** Runs CONCURRENCY workers that each await `post(event)` until `count` events are posted. */
async function drive(count: number, post: (item: OrderPaid) => Promise<void>): Promise<RunResult> {
  const problems: string[] = [];
  let errors = 0;
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const item = events[next++] as OrderPaid;
      try {
        await post(item);
      } catch (error) {
        if (++errors <= 10) problems.push(`event ${item.n}: ${(error as Error).message}`);
      }
    }
  };
  const cpuAtStart = process.cpuUsage();
  const start = performance.now();
  const workers = Array.from({ length: CONCURRENCY }, worker);
  const late = await timedOut(Promise.all(workers), RUN_TIMEOUT_MS);
  const elapsedMs = performance.now() - start;
  const cpu = process.cpuUsage(cpuAtStart);
  if (late) problems.unshift(`did not finish within ${RUN_TIMEOUT_MS} ms (${next} of ${count} started)`);
  if (errors > 10) problems.push(`… ${errors} failed in all`);
  return { elapsedMs, clientCpuUs: cpu.user + cpu.system, problems };
}

async function runFull(url: string, count: number): Promise<RunResult> {
  const target = webhookTarget({
    url,
    secret: SECRET,
    // Bench only: the server is on 127.0.0.1, which the SSRF guard refuses by default.
    allowAddresses: ['loopback'],
    maxConnections: CONCURRENCY,
  });
  const producer = createProducer<OrderPaid>({ transport: target });
  const result = await drive(count, async (item) => {
    await producer.send(item);
  });
  await producer.close();
  await target.close();
  return result;
}

async function runBaseline(url: string, count: number): Promise<RunResult> {
  const pool = new Pool(new URL(url).origin, { connections: CONCURRENCY });
  const result = await drive(count, async (item) => {
    const response = await pool.request({
      path: PATH,
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(item),
    });
    await response.body.dump();
    if (response.statusCode !== 204) throw new Error(`answered ${response.statusCode}`);
  });
  await pool.close();
  return result;
}

const signingKey = createSecretKey(Buffer.from(SECRET.slice('whsec_'.length), 'base64'));

async function runRawSigned(url: string, count: number): Promise<RunResult> {
  const pool = new Pool(new URL(url).origin, { connections: CONCURRENCY });
  const result = await drive(count, async (item) => {
    const id = randomUUID();
    const body = JSON.stringify(item);
    const timestamp = String(Math.floor(Date.now() / 1000));
    const signature = createHmac('sha256', signingKey).update(`${id}.${timestamp}.`).update(body).digest('base64');
    const response = await pool.request({
      path: PATH,
      method: 'POST',
      headers: {
        'webhook-id': id,
        'webhook-timestamp': timestamp,
        'webhook-signature': `v1,${signature}`,
        'content-type': 'application/json',
        'user-agent': 'bench',
        'missive-message-id': id,
        'missive-created-at': String(Date.now()),
      },
      body,
    });
    await response.body.dump();
    if (response.statusCode !== 204) throw new Error(`answered ${response.statusCode}`);
  });
  await pool.close();
  return result;
}

/** What the server counted matches what this run sent. */
function check(mode: Mode, count: number, stats: Stats): string[] {
  const problems: string[] = [];
  if (stats.requests !== count) problems.push(`server counted ${stats.requests} requests, expected ${count}`);
  const bytes = bytesOfFirst[count] as number;
  if (stats.bodyBytes !== bytes) problems.push(`server received ${stats.bodyBytes} body bytes, expected ${bytes}`);
  if (stats.malformed !== 0) problems.push(`${stats.malformed} requests not a JSON POST`);
  if (stats.connections > CONCURRENCY) problems.push(`${stats.connections} connections, more than ${CONCURRENCY}`);
  if (mode !== 'baseline') {
    if (stats.signed !== count) problems.push(`${stats.signed} of ${count} requests signed`);
    if (stats.sampled === 0) problems.push('no signature was checked');
    if (stats.badSignatures !== 0) problems.push(`${stats.badSignatures} of ${stats.sampled} sampled signatures wrong`);
  } else if (stats.signed !== 0) {
    problems.push(`${stats.signed} baseline requests signed`);
  }
  return problems;
}

interface Sample {
  readonly messagesPerSecond: number;
  readonly clientCpuUsPerMessage: number;
  /** Server CPU time / wall time over the run, 0 to 1. */
  readonly serverCpuShare: number;
  readonly requests: number;
  readonly connections: number;
}

async function run(mode: Mode, url: string, count: number, label: string): Promise<Sample> {
  await settle(20);
  await askServer('reset');
  const runner = mode === 'full' ? runFull : mode === 'baseline' ? runBaseline : runRawSigned;
  const result = await runner(url, count);
  const stats = await askServer('stats');
  const problems = [...result.problems, ...check(mode, count, stats)];
  if (problems.length > 0) fail(`${mode} (${label})`, problems);
  const sample: Sample = {
    messagesPerSecond: count / (result.elapsedMs / 1000),
    clientCpuUsPerMessage: result.clientCpuUs / count,
    serverCpuShare: stats.cpuUs / stats.wallUs,
    requests: stats.requests,
    connections: stats.connections,
  };
  verbose(
    `${mode.padEnd(8)} ${label.padEnd(9)} ${Math.round(sample.messagesPerSecond).toLocaleString('en-US').padStart(8)} msg/s  ` +
      `client ${sample.clientCpuUsPerMessage.toFixed(1)} µs/msg  server CPU ${(sample.serverCpuShare * 100).toFixed(0)}%  ` +
      `(${result.elapsedMs.toFixed(0)} ms, ${stats.requests} requests, ${stats.connections} connections)`,
  );
  return sample;
}

const benchStart = performance.now();
const server = await forkServer(
  resolve(here, 'http-server.ts'),
  'server',
  (message) => {
    const { port } = message as { port?: unknown };
    return typeof port === 'number' ? port : undefined;
  },
  { ...process.env, BENCH_SECRET: SECRET },
);
server.child.on('message', (message: Stats & { id: number }) => {
  const waiter = waiting.get(message.id);
  waiting.delete(message.id);
  waiter?.(message);
});
const url = `http://127.0.0.1:${server.ready}${PATH}`;
const samples: Record<Mode, Sample[]> = { full: [], baseline: [], 'raw-signed': [] };
try {
  for (let round = 1 - WARMUP_RUNS; round <= RUNS; round++) {
    const warmup = round <= 0;
    // Alternate the order of the modes, so slow drift (thermal, other load) hits them alike.
    const order = Math.abs(round) % 2 === 0 ? MODES : [...MODES].reverse();
    for (const mode of order) {
      const sample = await run(mode, url, warmup ? WARMUP_REQUESTS : REQUESTS, warmup ? 'warm-up' : `run ${round}`);
      if (!warmup) samples[mode].push(sample);
    }
  }
} finally {
  await server.stop();
}

const medianOf = (mode: Mode, pick: (sample: Sample) => number) =>
  samples[mode].length ? median(samples[mode].map(pick)) : null;
const rate = (mode: Mode) => {
  const value = medianOf(mode, (s) => s.messagesPerSecond);
  return value === null ? null : Math.round(value);
};
const cpuPerMessage = (mode: Mode) => {
  const value = medianOf(mode, (s) => s.clientCpuUsPerMessage);
  return value === null ? null : Number(value.toFixed(2));
};
const serverShare = (mode: Mode) => {
  const value = medianOf(mode, (s) => s.serverCpuShare);
  return value === null ? null : Number(value.toFixed(3));
};
const messagesPerSecond = rate('full');
const baselineMessagesPerSecond = rate('baseline');
const ratio =
  messagesPerSecond !== null && baselineMessagesPerSecond
    ? Number((messagesPerSecond / baselineMessagesPerSecond).toFixed(4))
    : null;
const rawSignedMessagesPerSecond = rate('raw-signed');
const clientCpuUsPerMessage = cpuPerMessage('full');
const baselineClientCpuUsPerMessage = cpuPerMessage('baseline');

const results = {
  messagesPerSecond,
  baselineMessagesPerSecond,
  ratio,
  target: { ratio: TARGET_RATIO, met: ratio !== null && ratio >= TARGET_RATIO },
  rawSignedMessagesPerSecond,
  ratioToRawSigned:
    messagesPerSecond !== null && rawSignedMessagesPerSecond
      ? Number((messagesPerSecond / rawSignedMessagesPerSecond).toFixed(4))
      : null,
  clientCpuUsPerMessage,
  baselineClientCpuUsPerMessage,
  rawSignedClientCpuUsPerMessage: cpuPerMessage('raw-signed'),
  cpuRatio:
    clientCpuUsPerMessage !== null && baselineClientCpuUsPerMessage
      ? Number((baselineClientCpuUsPerMessage / clientCpuUsPerMessage).toFixed(4))
      : null,
  serverCpuShare: {
    full: serverShare('full'),
    baseline: serverShare('baseline'),
    'raw-signed': serverShare('raw-signed'),
  },
  statistic:
    'median of the runs; msg/s = requests / elapsed; client CPU = user + system CPU time of the sending process ' +
    'over the timed part / requests; serverCpuShare = the server process CPU time / wall time (1 = a core saturated)',
  requestsPerRun: REQUESTS,
  runs: RUNS,
  warmupRuns: WARMUP_RUNS,
  warmupRequests: WARMUP_REQUESTS,
  concurrency: CONCURRENCY,
  connections: CONCURRENCY,
  meanBodyBytes,
  counts: Object.fromEntries(
    Object.entries(samples).map(([mode, list]) => [
      mode,
      list.map((s) => ({ expected: REQUESTS, received: s.requests, connections: s.connections })),
    ]),
  ),
  samples: Object.fromEntries(
    Object.entries(samples).map(([mode, list]) => [
      mode,
      {
        messagesPerSecond: list.map((s) => Math.round(s.messagesPerSecond)),
        clientCpuUsPerMessage: list.map((s) => Number(s.clientCpuUsPerMessage.toFixed(2))),
        serverCpuShare: list.map((s) => Number(s.serverCpuShare.toFixed(3))),
      },
    ]),
  ),
  modes: {
    full: 'createProducer + webhookTarget (JSON, UUIDv7, HMAC-SHA256 signature, Missive headers, retry layer, circuit breaker)',
    baseline: 'raw undici Pool: POST JSON.stringify(event) with content-type, response drained; no signing, no retries',
    'raw-signed':
      'raw undici Pool with the headers Missive sends, HMAC-SHA256 signed by node:crypto (key imported once); no retries',
  },
  server: 'node:http on 127.0.0.1 in a child process; reads the body, answers 204, keep-alive (keepAliveTimeout 120 s)',
  ...environment(),
  durationSeconds: Number(((performance.now() - benchStart) / 1000).toFixed(1)),
  timestamp: new Date().toISOString(),
};

const format = (value: number | null, digits = 0) =>
  value === null
    ? '-'
    : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
console.log(
  `missive webhook delivery: ${REQUESTS.toLocaleString('en-US')} requests per run, median of ${RUNS} runs, ` +
    `${CONCURRENCY} concurrent senders and connections, ~${meanBodyBytes}-byte JSON bodies, node ${process.version}`,
);
console.log(
  `${'mode'.padEnd(34)} ${'msg/s'.padStart(9)} ${'vs baseline'.padStart(12)} ${'client µs/msg'.padStart(14)} ${'server CPU'.padStart(11)}`,
);
const row = (name: string, mode: Mode) => {
  const value = rate(mode);
  const share = value !== null && baselineMessagesPerSecond ? value / baselineMessagesPerSecond : null;
  const server = serverShare(mode);
  console.log(
    `${name.padEnd(34)} ${format(value).padStart(9)} ${(share === null ? '-' : `${(share * 100).toFixed(1)}%`).padStart(12)} ` +
      `${format(cpuPerMessage(mode), 1).padStart(14)} ${(server === null ? '-' : `${(server * 100).toFixed(0)}%`).padStart(11)}`,
  );
};
if (MODES.includes('baseline')) row('baseline (raw undici Pool)', 'baseline');
if (MODES.includes('raw-signed')) row('raw Pool, same headers, signed', 'raw-signed');
if (MODES.includes('full')) row('full sender (producer + webhook)', 'full');
if (ratio !== null)
  console.log(`target ratio ≥ ${TARGET_RATIO}: ${results.target.met ? 'met' : 'not met'} (ratio ${ratio.toFixed(3)})`);

writeResults('http', results);

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
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  CONCURRENCY,
  MODES,
  type Mode,
  PATH,
  REQUESTS,
  RUNS,
  SECRET,
  TIMEOUT_MS,
  WARMUP_REQUESTS,
  WARMUP_RUNS,
} from './http/config.ts';
import { bytesOfFirst } from './http/events.ts';
import { reportResults, type Sample } from './http/results.ts';
import { senders } from './http/senders.ts';
import type { Stats } from './http-server.ts';
import { forkServer } from './lib/child.ts';
import { fail, settle, verbose } from './lib.ts';

const here = dirname(fileURLToPath(import.meta.url));

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

/** One run of `mode` on `count` events after a settle, checked against the server's counts. */
async function run(mode: Mode, url: string, count: number, label: string): Promise<Sample> {
  await settle(20);
  await askServer('reset');
  const result = await senders[mode](url, count);
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
reportResults(samples, benchStart);

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
import { round, verbose, writeResults } from './lib.ts';
import { PHASES } from './sqs/config.ts';
import { startEmulator, stopEmulator } from './sqs/emulator.ts';
import { latencyPhase } from './sqs/latency.ts';
import { printSummary, sqsResults } from './sqs/results.ts';
import { steadyPhase } from './sqs/steady.ts';
import { throughputPhase } from './sqs/throughput.ts';

const benchStart = performance.now();
const endpoint = await startEmulator();
verbose(`fauxqs at ${endpoint}`);

const phaseSeconds: Record<string, number> = {};
let phaseStart = performance.now();
const throughput = PHASES.includes('throughput') ? await throughputPhase() : undefined;
phaseSeconds.throughput = round((performance.now() - phaseStart) / 1000, 1);
phaseStart = performance.now();
const steady = PHASES.includes('steady') ? await steadyPhase() : { runs: [], headlineRuns: [] };
phaseSeconds.steady = round((performance.now() - phaseStart) / 1000, 1);
phaseStart = performance.now();
const latency = PHASES.includes('latency') ? await latencyPhase() : undefined;
phaseSeconds.latency = round((performance.now() - phaseStart) / 1000, 1);
await stopEmulator();
const benchSeconds = (performance.now() - benchStart) / 1000;

const phases = { throughput, steady, latency, benchSeconds, phaseSeconds };
const results = sqsResults(phases);
printSummary(phases, results);
writeResults('sqs', results);

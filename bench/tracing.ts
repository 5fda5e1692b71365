/**
 * In-memory end-to-end throughput with OpenTelemetry tracing, in four modes measured in the same run.
 *
 *   node bench/tracing.ts          # 200 000 messages per run; median of 5 runs per mode (~55 s)
 *   BENCH_MESSAGES=50000 BENCH_RUNS=3 node bench/tracing.ts
 *   node --cpu-prof bench/tracing.ts --mode traced         # one mode, in this process (warm-up + 1 run)
 *   BENCH_SRC=/tmp/src-copy/src BENCH_OUT=/tmp/t.json node bench/tracing.ts   # a prototype copy of src/
 *
 * Modes, each handling every message with the same trivial async handler as bench/memory.ts (it
 * sums `body.n`), the same concurrency (256), batchSize (256) and sendBatch chunks (1 000):
 * - untraced: `createProducer` + `createConsumer` on a `memoryQueue`, no `telemetry` option
 *   (bench/memory.ts's full-layer mode).
 * - no-sdk: the same with `telemetry: missiveTelemetry()` and no OpenTelemetry SDK registered,
 *   so every API call is the API's no-op.
 * - traced: the same with the real SDK registered globally: a `TracerProvider` with a
 *   `BatchSpanProcessor` (its defaults) and an exporter that discards spans (it calls back with
 *   success at once), an `AsyncLocalStorageContextManager` and the W3C trace-context propagator.
 *   No MeterProvider is registered, so Missive's metrics are the API's no-ops in every mode.
 * - sdk-floor: no Missive at all, the same SDK setup: a bare loop that creates the spans Missive
 *   creates, and nothing else. Per chunk of 1 000: a PRODUCER `send` span with Missive's
 *   attributes; if Missive makes them (read from Missive itself, see probeBatchShape), a PRODUCER
 *   `create` span per message, linked from the send span, whose context `propagation.inject`
 *   writes into that message's headers, else the send span's context injected once and copied
 *   into each message's headers; the chunk handed to an async "transport" (an array push) inside
 *   `context.with` the send span, which ends once that resolves. Then 256 async workers, per
 *   message: `propagation.extract`, a CONSUMER `process` span linked to the producer's context
 *   with Missive's attributes, `context.with` that span around the handler, the
 *   `missive.outcome` attribute and `missive.settle` event Missive records for an ack,
 *   `span.end()`. Message ids are made outside the timed section (they are not the SDK's work).
 *
 * Every mode runs in a fresh child process (`node bench/tracing.ts --mode <mode>`): the API's
 * globals can be set only once per process, and a fresh process gives each mode the same JIT and
 * heap start. A child does a full-size warm-up run and one measured run (a full GC before each)
 * and reports over IPC; the parent runs the modes interleaved, rotating their order every round,
 * and takes the median of the rounds. Every run checks that each message was handled exactly
 * once and, in the layer modes, that the queue and its dead-letter queue are empty and nothing
 * was retried; with the SDK, that every span reached the exporter (none dropped for a full
 * batch-processor queue) and that the spans of `traced` and `sdk-floor` have the same shape
 * (kind, name, attribute keys, number of links, events, parent). Any failure exits with code 1.
 *
 * Figures: noSdkSlowdown = untraced / noSdk − 1 (target ≤ 0.10); sdkFloorRatio = traced /
 * sdkFloor (target ≥ 0.7). Also recorded: the same figures per round (the two runs adjacent in
 * time) and from CPU time, which show how much of the spread is other load on the machine.
 * Results go to bench/results/tracing.json (BENCH_OUT=path elsewhere, BENCH_NO_WRITE=1 nowhere;
 * BENCH_VERBOSE=1 prints every child's runs).
 */
import { type ChildProcess, fork } from 'node:child_process';
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type * as OtelApi from '@opentelemetry/api';
import type { ReadableSpan, SpanExporter } from '@opentelemetry/sdk-trace';
import type * as Missive from '../src/index.ts';
import type * as MissiveTelemetry from '../src/telemetry/index.ts';
import type * as MissiveMemory from '../src/transports/memory/index.ts';
import {
  type Body,
  cpuMillis,
  type LayerRun,
  makeBodies,
  makeHandler,
  runLayer as runMemoryLayer,
  verifyRun,
} from './lib/layer.ts';
import { choicesFromEnv, environment, importSrc, intFromEnv, median, settle, verbose, writeResults } from './lib.ts';

const self = fileURLToPath(import.meta.url);

const MESSAGES = intFromEnv('BENCH_MESSAGES', 200_000);
/**
 * The warm-up run of each child process, as long as the measured one by default: after a
 * 50 000-message warm-up, a 200 000-message run of the untraced layer measured at half the speed
 * it reaches after a full-size one (the heap has not grown to the backlog yet), so a shorter
 * warm-up would bill heap growth to whichever mode it hits hardest.
 */
const WARMUP_MESSAGES = intFromEnv('BENCH_WARMUP_MESSAGES', MESSAGES);
const RUNS = intFromEnv('BENCH_RUNS', 5);
const CONCURRENCY = intFromEnv('BENCH_CONCURRENCY', 256);
const BATCH_SIZE = intFromEnv('BENCH_BATCH_SIZE', 256);
const SEND_CHUNK = intFromEnv('BENCH_SEND_CHUNK', 1_000);
// A one-message send is traced differently (no batch attributes, no create spans): the floor mirrors batches only.
if (SEND_CHUNK < 2) throw new Error('BENCH_SEND_CHUNK must be at least 2');
const WARMUPS = intFromEnv('BENCH_WARMUPS', 1);
const WAIT_TIME_MS = 50;
/** A run that has not finished after this long fails the bench (a lost message, a stuck consumer). */
const RUN_TIMEOUT_MS = intFromEnv('BENCH_RUN_TIMEOUT_MS', 30_000);
const DESTINATION = 'bench';

const ALL_MODES = ['untraced', 'no-sdk', 'traced', 'sdk-floor'] as const;
type Mode = (typeof ALL_MODES)[number];
const SDK_MODES: readonly Mode[] = ['traced', 'sdk-floor'];

/** What a child reports to the parent. */
interface ChildReport {
  readonly mode: Mode;
  readonly messagesPerSecond: number;
  readonly elapsedMs: number;
  /** Messages per second of CPU time (all threads of the process), less sensitive than wall time to other load. */
  readonly cpuMessagesPerSecond: number;
  readonly warmupMessagesPerSecond: number[];
  /** Spans the exporter received in the measured run (SDK modes). */
  readonly spans?: number | undefined;
  /** The shape of each kind of span, by kind and name (SDK modes). */
  readonly shapes?: Record<string, string>;
  /** How Missive traces a batch send (SDK modes): see probeBatchShape. */
  readonly batchShape?: 'send' | 'create' | undefined;
}

// ---------------------------------------------------------------------------------------------
// Child: one mode, one warm-up run and one measured run.
// ---------------------------------------------------------------------------------------------

const KIND_NAMES = ['internal', 'server', 'client', 'producer', 'consumer'];

/**
 * An exporter that drops what it is given and reports success at once. It counts spans and,
 * while `scanning` (the warm-up run: the measured run pays nothing for it), notes the shape of
 * each kind of span.
 */
class DiscardingSpanExporter implements SpanExporter {
  exported = 0;
  scanning = true;
  readonly shapes: Record<string, string> = {};

  export(spans: ReadableSpan[], resultCallback: (result: { code: number }) => void): void {
    this.exported += spans.length;
    if (this.scanning) {
      for (const span of spans) {
        const key = `${KIND_NAMES[span.kind] ?? span.kind} ${span.name}`;
        if (!this.shapes[key]) this.shapes[key] = shapeOf(span);
      }
    }
    resultCallback({ code: 0 }); // ExportResultCode.SUCCESS
  }

  shutdown(): Promise<void> {
    return Promise.resolve();
  }

  forceFlush(): Promise<void> {
    return Promise.resolve();
  }
}

/** What must be equal between Missive's spans and the floor's: attribute keys, links, events, parent. */
function shapeOf(span: ReadableSpan): string {
  return JSON.stringify({
    attributes: Object.keys(span.attributes).sort(),
    links: span.links.length,
    events: span.events.map((event) => `${event.name}(${Object.keys(event.attributes ?? {}).join(',')})`),
    parent: span.parentSpanContext ? 'yes' : 'none',
  });
}

/** The real SDK, registered globally: what an application's tracing setup does. */
async function registerSdk() {
  const api: typeof OtelApi = await import('@opentelemetry/api');
  const { TracerProvider, BatchSpanProcessor } = await import('@opentelemetry/sdk-trace');
  const { AsyncLocalStorageContextManager } = await import('@opentelemetry/context-async-hooks');
  const { W3CTraceContextPropagator } = await import('@opentelemetry/core');
  const exporter = new DiscardingSpanExporter();
  // BatchSpanProcessor with its defaults (maxQueueSize 2048, maxExportBatchSize 512, 5 s delay).
  const provider = new TracerProvider({ spanProcessors: [new BatchSpanProcessor({ exporter })] });
  const ok =
    api.trace.setGlobalTracerProvider(provider) &&
    api.context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable()) &&
    api.propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  if (!ok) throw new Error('could not register the OpenTelemetry SDK globally');
  return { api, provider, exporter };
}
type Sdk = Awaited<ReturnType<typeof registerSdk>>;

async function loadMissive() {
  const missive = await importSrc<typeof Missive>('index.ts');
  const memory = await importSrc<typeof MissiveMemory>('transports/memory/index.ts');
  const telemetry = await importSrc<typeof MissiveTelemetry>('telemetry/index.ts');
  return { ...missive, ...memory, ...telemetry };
}
type MissiveModules = Awaited<ReturnType<typeof loadMissive>>;

/** bench/memory.ts's full-layer run, with `telemetry: missiveTelemetry()` if `traced`. */
function runLayer(count: number, missive: MissiveModules, traced: boolean): Promise<LayerRun> {
  // Created per run, after the SDK (if any) is registered, as an application would.
  const telemetry = traced ? { telemetry: missive.missiveTelemetry() } : {};
  return runMemoryLayer({
    missive,
    count,
    concurrency: CONCURRENCY,
    batchSize: BATCH_SIZE,
    sendChunk: SEND_CHUNK,
    waitTimeMs: WAIT_TIME_MS,
    runTimeoutMs: RUN_TIMEOUT_MS,
    name: DESTINATION,
    producer: telemetry,
    consumer: telemetry,
  });
}

/**
 * How Missive traces a batch send, read from Missive itself (a two-message sendBatch recorded by
 * a private tracer provider), so the floor creates the same spans as the src/ measured:
 * - 'send': one PRODUCER send span per batch whose context every message carries;
 * - 'create': also one PRODUCER create span per message, carrying its own context, the send span
 *   linked to each (the conventions' shape for batches).
 */
async function probeBatchShape(missive: MissiveModules): Promise<'send' | 'create'> {
  const { TracerProvider, SimpleSpanProcessor, InMemorySpanExporter } = await import('@opentelemetry/sdk-trace');
  const exporter = new InMemorySpanExporter();
  const provider = new TracerProvider({ spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  const producer = missive.createProducer<Body>({
    transport: missive.memoryQueue({ name: DESTINATION }),
    telemetry: missive.missiveTelemetry({ tracerProvider: provider }),
  });
  await producer.sendBatch([{ body: { n: 0 } }, { body: { n: 1 } }]);
  await producer.close();
  await provider.forceFlush();
  const names = exporter.getFinishedSpans().map((span) => `${KIND_NAMES[span.kind]} ${span.name}`);
  await provider.shutdown();
  if (!names.includes(`producer send ${DESTINATION}`)) throw new Error(`no send span in ${names.join(', ')}`);
  return names.includes(`producer create ${DESTINATION}`) ? 'create' : 'send';
}

/** Spans per run: one send span per chunk, one process span per message, one create span per message if so. */
function expectedSpans(count: number, batchShape: 'send' | 'create'): number {
  return Math.ceil(count / SEND_CHUNK) + count + (batchShape === 'create' ? count : 0);
}

interface FloorMessage {
  readonly id: string;
  readonly body: Body;
  readonly headers: Record<string, string>;
}

/**
 * The SDK floor: the spans Missive creates for a run (per chunk a send span, and a create span
 * per message if Missive makes them; a process span per message; propagation through the
 * headers; the same attributes, links and event), and nothing else. The names come from the
 * measured src/'s semconv module.
 */
async function runFloor(
  count: number,
  sdk: Sdk,
  missive: MissiveModules,
  batchShape: 'send' | 'create',
): Promise<LayerRun> {
  const { api } = sdk;
  const { context, propagation, ROOT_CONTEXT, SpanKind, trace } = api;
  const { semconv } = missive;
  const getter: OtelApi.TextMapGetter<Record<string, string>> = {
    get: (carrier, key) => carrier[key],
    keys: (carrier) => Object.keys(carrier),
  };
  const tracer = trace.getTracer('missive');
  const bodies = makeBodies(count);
  // Missive makes ids (UUIDv7) itself; they are not the SDK's work, so they are made untimed here.
  const ids: string[] = new Array(count);
  for (let n = 0; n < count; n++) ids[n] = `0198a1b2-c3d4-7e5f-8a9b-${n.toString(16).padStart(12, '0')}`;
  const seen = new Uint8Array(count);
  const total = { sum: 0, handled: 0 };
  const handler = makeHandler(count, seen, total, () => undefined);
  const destination: OtelApi.Attributes = {
    [semconv.ATTR_MESSAGING_SYSTEM]: semconv.MessagingSystem.Memory,
    [semconv.ATTR_MESSAGING_DESTINATION_NAME]: DESTINATION,
  };
  const processAttributes: OtelApi.Attributes = {
    ...destination,
    [semconv.ATTR_MESSAGING_OPERATION_TYPE]: 'process',
    [semconv.ATTR_MESSAGING_OPERATION_NAME]: 'process',
  };
  const perMessage = batchShape === 'create';

  const queue: FloorMessage[] = [];
  // The transport: append the batch to the queue (async, as a transport's send is).
  const enqueue = async (batch: FloorMessage[]) => {
    for (const message of batch) queue.push(message);
  };

  const cpuStart = process.cpuUsage();
  const start = performance.now();
  for (let first = 0; first < count; first += SEND_CHUNK) {
    const end = Math.min(first + SEND_CHUNK, count);
    const send = tracer.startSpan(`send ${DESTINATION}`, { kind: SpanKind.PRODUCER, attributes: destination });
    send.setAttribute(semconv.ATTR_MESSAGING_OPERATION_TYPE, 'send');
    send.setAttribute(semconv.ATTR_MESSAGING_OPERATION_NAME, 'send');
    send.setAttribute(semconv.ATTR_MESSAGING_BATCH_MESSAGE_COUNT, end - first);
    const active = trace.setSpan(context.active(), send);
    const batch: FloorMessage[] = new Array(end - first);
    if (perMessage) {
      for (let n = first; n < end; n++) {
        const create = tracer.startSpan(
          `create ${DESTINATION}`,
          { kind: SpanKind.PRODUCER, attributes: destination },
          active,
        );
        create.setAttribute(semconv.ATTR_MESSAGING_OPERATION_TYPE, 'create');
        create.setAttribute(semconv.ATTR_MESSAGING_OPERATION_NAME, 'create');
        create.setAttribute(semconv.ATTR_MESSAGING_MESSAGE_ID, ids[n] as string);
        send.addLink({ context: create.spanContext() });
        const headers: Record<string, string> = {};
        propagation.inject(trace.setSpan(active, create), headers);
        create.end();
        batch[n - first] = { id: ids[n] as string, body: bodies[n] as Body, headers };
      }
    } else {
      const carrier: Record<string, string> = {};
      propagation.inject(active, carrier);
      for (let n = first; n < end; n++)
        batch[n - first] = { id: ids[n] as string, body: bodies[n] as Body, headers: { ...carrier } };
    }
    // As Missive does: the transport's send awaited inside the send span's context, and the send
    // span ended once it has resolved.
    await context.with(active, enqueue, undefined, batch);
    send.end();
    // The batch processor exports at most one batch (512) per synchronous stretch and drops what
    // overflows its queue (2 048): let it catch up between chunks, as it does between Missive's
    // sends (its consumer runs there), so that no span is dropped. ~200 turns a run: negligible.
    await new Promise((resolve) => setImmediate(resolve));
  }
  let next = 0;
  const worker = async () => {
    while (next < queue.length) {
      const message = queue[next] as FloorMessage;
      queue[next++] = undefined as unknown as FloorMessage;
      const producer = trace.getSpanContext(propagation.extract(ROOT_CONTEXT, message.headers, getter));
      const parent = context.active();
      const span = tracer.startSpan(
        `process ${DESTINATION}`,
        { kind: SpanKind.CONSUMER, links: producer ? [{ context: producer }] : [] },
        parent,
      );
      span.setAttributes(processAttributes);
      span.setAttribute(semconv.ATTR_MESSAGING_MESSAGE_ID, message.id);
      span.setAttribute(semconv.ATTR_MISSIVE_ATTEMPT, 1);
      await context.with(trace.setSpan(parent, span), () => handler(message));
      span.setAttribute(semconv.ATTR_MISSIVE_OUTCOME, 'ack');
      span.addEvent(semconv.EVENT_MISSIVE_SETTLE, { [semconv.ATTR_MISSIVE_OUTCOME]: 'ack' });
      span.end();
    }
  };
  const workers: Promise<void>[] = [];
  for (let i = 0; i < CONCURRENCY; i++) workers.push(worker());
  await Promise.all(workers);
  const elapsedMs = performance.now() - start;
  return { elapsedMs, cpuMs: cpuMillis(cpuStart), seen, sum: total.sum, problems: [] };
}

async function child(mode: Mode): Promise<void> {
  // Missive is loaded first, as an application's imports would be (the floor only reads its
  // semconv names and probes its batch shape); the SDK is registered before missiveTelemetry()
  // is called (in runLayer).
  const missive = await loadMissive();
  const sdk = SDK_MODES.includes(mode) ? await registerSdk() : undefined;
  const batchShape = sdk ? await probeBatchShape(missive) : undefined;
  const run = (count: number): Promise<LayerRun> => {
    if (mode === 'sdk-floor') return runFloor(count, sdk as Sdk, missive, batchShape as 'send' | 'create');
    return runLayer(count, missive, mode !== 'untraced');
  };
  const warmupMessagesPerSecond: number[] = [];
  let measured: LayerRun | undefined;
  let spans: number | undefined;
  for (let i = 1 - WARMUPS; i <= 1; i++) {
    const label = i <= 0 ? 'warm-up' : 'run';
    const count = i <= 0 ? WARMUP_MESSAGES : MESSAGES;
    await settle(10);
    const before = sdk?.exporter.exported ?? 0;
    if (sdk) sdk.exporter.scanning = i <= 0;
    const result = await run(count);
    verifyRun(count, mode, label, result);
    if (sdk) {
      // Untimed: the spans still buffered in the batch processor (fewer than one export batch).
      await sdk.provider.forceFlush();
      const exported = sdk.exporter.exported - before;
      const expected = expectedSpans(count, batchShape as 'send' | 'create');
      if (exported !== expected) {
        console.error(`FAIL ${mode} (${label}): ${exported} spans exported, expected ${expected} (none dropped)`);
        process.exit(1);
      }
      spans = exported;
    }
    const rate = count / (result.elapsedMs / 1000);
    verbose(
      `  ${mode} ${label}: ${Math.round(rate)} msg/s (${result.elapsedMs.toFixed(1)} ms, CPU ${result.cpuMs.toFixed(1)} ms)`,
    );
    if (i <= 0) warmupMessagesPerSecond.push(Math.round(rate));
    else measured = result;
  }
  await sdk?.provider.shutdown();
  const { elapsedMs, cpuMs } = measured as LayerRun;
  const report: ChildReport = {
    mode,
    messagesPerSecond: MESSAGES / (elapsedMs / 1000),
    elapsedMs,
    cpuMessagesPerSecond: MESSAGES / (cpuMs / 1000),
    warmupMessagesPerSecond,
    ...(sdk ? { spans, shapes: sdk.exporter.shapes, batchShape } : {}),
  };
  if (process.send) process.send(report);
  else console.log(JSON.stringify(report));
}

// ---------------------------------------------------------------------------------------------
// Parent: the modes interleaved, one child process per mode and round.
// ---------------------------------------------------------------------------------------------

function runChild(mode: Mode): Promise<ChildReport> {
  return new Promise((resolvePromise, reject) => {
    // fork() passes this process's execArgv on (so `node --cpu-prof bench/tracing.ts` profiles every child).
    const proc: ChildProcess = fork(self, ['--mode', mode], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    let report: ChildReport | undefined;
    const killer = setTimeout(() => proc.kill('SIGKILL'), 4 * RUN_TIMEOUT_MS + 30_000);
    proc.on('message', (message) => {
      report = message as ChildReport;
    });
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      clearTimeout(killer);
      if (code === 0 && report) resolvePromise(report);
      else reject(new Error(`child ${mode} exited with ${signal ?? `code ${code}`}${report ? '' : ', no report'}`));
    });
  });
}

function batchShapeOf(reports: Record<string, ChildReport[]>): string | null {
  const shape = reports.traced?.[0]?.batchShape ?? reports['sdk-floor']?.[0]?.batchShape;
  if (shape === 'create')
    return 'per batch a send span linked to a create span per message, each message carrying its create span';
  if (shape === 'send') return 'per batch a send span, whose context every message of the batch carries';
  return null;
}

function versionOf(name: string): string | null {
  try {
    return (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

async function parent(): Promise<void> {
  const modes = choicesFromEnv('BENCH_MODES', ALL_MODES, 'mode');

  const began = performance.now();
  const reports: Record<string, ChildReport[]> = Object.fromEntries(modes.map((mode) => [mode, []]));
  for (let round = 0; round < RUNS; round++) {
    // Interleaved, and the order rotated every round, so drift (thermal, other load) spreads evenly.
    const order = modes.map((_, i) => modes[(i + round) % modes.length] as Mode);
    for (const mode of order) {
      try {
        reports[mode]?.push(await runChild(mode));
      } catch (error) {
        console.error(`FAIL ${mode} (round ${round + 1}): ${(error as Error).message}`);
        process.exit(1);
      }
    }
  }

  const shapes = (mode: Mode) => reports[mode]?.[0]?.shapes;
  let shapesMatch: boolean | null = null;
  const tracedShapes = shapes('traced');
  const floorShapes = shapes('sdk-floor');
  if (tracedShapes && floorShapes) {
    const sorted = (record: Record<string, string>) =>
      JSON.stringify(Object.entries(record).sort(([a], [b]) => a.localeCompare(b)));
    shapesMatch = sorted(tracedShapes) === sorted(floorShapes);
    if (!shapesMatch) {
      console.error('FAIL: the spans of traced and sdk-floor differ; update runFloor to create what Missive creates:');
      for (const key of new Set([...Object.keys(tracedShapes), ...Object.keys(floorShapes)]))
        if (tracedShapes[key] !== floorShapes[key])
          console.error(`  ${key}\n    traced:    ${tracedShapes[key]}\n    sdk-floor: ${floorShapes[key]}`);
      process.exit(1);
    }
  }

  const medianOf = (mode: Mode, pick: (report: ChildReport) => number = (report) => report.messagesPerSecond) => {
    const values = reports[mode]?.map(pick) ?? [];
    return values.length ? Math.round(median(values)) : null;
  };
  const untraced = medianOf('untraced');
  const noSdk = medianOf('no-sdk');
  const traced = medianOf('traced');
  const floor = medianOf('sdk-floor');
  const round4 = (value: number) => Number(value.toFixed(4));
  const noSdkSlowdown = untraced !== null && noSdk !== null ? round4(untraced / noSdk - 1) : null;
  const sdkFloorRatio = traced !== null && floor !== null ? round4(traced / floor) : null;
  const micros = (rate: number | null) => (rate === null ? null : Number((1e6 / rate).toFixed(3)));
  // The same figures from each round's pair of runs (adjacent in time), and from CPU time: when
  // the machine is not idle, these show how much of the spread is other load.
  const paired = (a: Mode, b: Mode, figure: (x: number, y: number) => number) => {
    const as = reports[a] ?? [];
    const bs = reports[b] ?? [];
    const values = as.map((report, i) =>
      bs[i] ? round4(figure(report.messagesPerSecond, (bs[i] as ChildReport).messagesPerSecond)) : Number.NaN,
    );
    return values.length && !values.some(Number.isNaN) ? { median: round4(median(values)), rounds: values } : null;
  };
  const cpu = (report: ChildReport) => report.cpuMessagesPerSecond;
  const cpuFigures = {
    untracedMessagesPerCpuSecond: medianOf('untraced', cpu),
    noSdkMessagesPerCpuSecond: medianOf('no-sdk', cpu),
    tracedMessagesPerCpuSecond: medianOf('traced', cpu),
    sdkFloorMessagesPerCpuSecond: medianOf('sdk-floor', cpu),
  };
  const cpuRatio = (a: number | null, b: number | null, figure: (x: number, y: number) => number) =>
    a !== null && b !== null ? round4(figure(a, b)) : null;

  const results = {
    untracedMessagesPerSecond: untraced,
    noSdkMessagesPerSecond: noSdk,
    tracedMessagesPerSecond: traced,
    sdkFloorMessagesPerSecond: floor,
    noSdkSlowdown,
    sdkFloorRatio,
    targets: {
      noSdkSlowdown: { max: 0.1, met: noSdkSlowdown === null ? null : noSdkSlowdown <= 0.1 },
      sdkFloorRatio: { min: 0.7, met: sdkFloorRatio === null ? null : sdkFloorRatio >= 0.7 },
    },
    microsecondsPerMessage: {
      untraced: micros(untraced),
      noSdk: micros(noSdk),
      traced: micros(traced),
      sdkFloor: micros(floor),
      /** What tracing with the SDK adds to a message's trip through Missive. */
      tracedMinusUntraced: untraced !== null && traced !== null ? round4(1e6 / traced - 1e6 / untraced) : null,
    },
    pairedByRound: {
      noSdkSlowdown: paired('untraced', 'no-sdk', (a, b) => a / b - 1),
      sdkFloorRatio: paired('traced', 'sdk-floor', (a, b) => a / b),
    },
    cpuTime: {
      note: 'messages per second of process CPU time (all threads: GC helpers too), median of the same runs',
      ...cpuFigures,
      noSdkSlowdown: cpuRatio(
        cpuFigures.untracedMessagesPerCpuSecond,
        cpuFigures.noSdkMessagesPerCpuSecond,
        (a, b) => a / b - 1,
      ),
      sdkFloorRatio: cpuRatio(
        cpuFigures.tracedMessagesPerCpuSecond,
        cpuFigures.sdkFloorMessagesPerCpuSecond,
        (a, b) => a / b,
      ),
    },
    samples: Object.fromEntries(
      modes.map((mode) => [mode, reports[mode]?.map((report) => Math.round(report.messagesPerSecond))]),
    ),
    warmupSamples: Object.fromEntries(
      modes.map((mode) => [mode, reports[mode]?.map((report) => report.warmupMessagesPerSecond)]),
    ),
    messages: MESSAGES,
    runs: RUNS,
    warmupRunsPerProcess: WARMUPS,
    warmupMessages: WARMUP_MESSAGES,
    statistic:
      'median of the runs (msg/s = messages / elapsed); each run in a fresh child process after its own warm-up ' +
      'run; modes interleaved, order rotated every round',
    concurrency: CONCURRENCY,
    batchSize: BATCH_SIZE,
    sendChunk: SEND_CHUNK,
    waitTimeMs: WAIT_TIME_MS,
    handler: 'async, sums body.n; the same for every mode',
    batchShape: batchShapeOf(reports),
    spansPerRun: reports.traced?.[0]?.spans ?? reports['sdk-floor']?.[0]?.spans ?? null,
    spanShapes: tracedShapes ?? floorShapes ?? null,
    spanShapesMatch: shapesMatch,
    sdk: {
      tracerProvider: 'TracerProvider from @opentelemetry/sdk-trace, registered globally; default sampler (always on)',
      spanProcessor:
        'BatchSpanProcessor, defaults (maxQueueSize 2048, maxExportBatchSize 512, scheduledDelayMillis 5000)',
      exporter: 'discards spans: export() calls back with success at once; every span checked to reach it',
      contextManager: 'AsyncLocalStorageContextManager from @opentelemetry/context-async-hooks',
      propagator: 'W3CTraceContextPropagator from @opentelemetry/core',
      meterProvider: 'none registered: Missive metrics are the API no-ops in every mode',
      versions: {
        '@opentelemetry/api': versionOf('@opentelemetry/api'),
        '@opentelemetry/sdk-trace': versionOf('@opentelemetry/sdk-trace'),
        '@opentelemetry/context-async-hooks': versionOf('@opentelemetry/context-async-hooks'),
        '@opentelemetry/core': versionOf('@opentelemetry/core'),
      },
    },
    modes: {
      untraced: 'createProducer + createConsumer on memoryQueue, no telemetry option',
      'no-sdk': 'the same with telemetry: missiveTelemetry(), no OpenTelemetry SDK registered',
      traced: 'the same with telemetry: missiveTelemetry() and the SDK above',
      'sdk-floor':
        'no Missive: a bare loop creating the same spans with the same SDK (send span per chunk, inject, headers ' +
        'copied per message; per message extract, linked process span, context.with around the handler, ack event)',
    },
    ...environment(),
    loadAverageAtEnd: loadavg().map((value) => Number(value.toFixed(2))),
    wallSeconds: Number(((performance.now() - began) / 1000).toFixed(1)),
    timestamp: new Date().toISOString(),
  };

  const format = (value: number | null) => (value === null ? '-' : value.toLocaleString('en-US'));
  console.log(
    `missive in-memory throughput with tracing: ${MESSAGES.toLocaleString('en-US')} messages, median of ${RUNS} ` +
      `runs (one process each), concurrency ${CONCURRENCY}, batchSize ${BATCH_SIZE}, sendBatch of ${SEND_CHUNK}, ` +
      `node ${process.version}`,
  );
  console.log(`${'mode'.padEnd(44)} ${'msg/s'.padStart(11)} ${'µs/msg'.padStart(8)}`);
  const row = (name: string, value: number | null) =>
    console.log(`${name.padEnd(44)} ${format(value).padStart(11)} ${String(micros(value) ?? '-').padStart(8)}`);
  row('1. telemetry off', untraced);
  row('2. telemetry on, no SDK (API no-ops)', noSdk);
  row('3. telemetry on, real SDK (batch, discard)', traced);
  row('4. SDK floor (same spans, bare loop)', floor);
  if (noSdkSlowdown !== null)
    console.log(
      `noSdkSlowdown = ${noSdkSlowdown.toFixed(4)} (target ≤ 0.10: ${results.targets.noSdkSlowdown.met ? 'met' : 'not met'})`,
    );
  if (sdkFloorRatio !== null)
    console.log(
      `sdkFloorRatio = ${sdkFloorRatio.toFixed(4)} (target ≥ 0.70: ${results.targets.sdkFloorRatio.met ? 'met' : 'not met'})`,
    );
  const spread = (values: number[] | undefined) =>
    values?.length ? `${Math.min(...values).toFixed(3)}…${Math.max(...values).toFixed(3)}` : '-';
  console.log(
    `cross-checks: per-round pairs noSdkSlowdown ${spread(results.pairedByRound.noSdkSlowdown?.rounds)}, ` +
      `sdkFloorRatio ${spread(results.pairedByRound.sdkFloorRatio?.rounds)}; from CPU time ` +
      `${results.cpuTime.noSdkSlowdown ?? '-'} and ${results.cpuTime.sdkFloorRatio ?? '-'}`,
  );

  writeResults('tracing', results, process.env.BENCH_OUT ? resolve(process.env.BENCH_OUT) : undefined);
}

const modeFlag = process.argv.indexOf('--mode');
if (modeFlag !== -1) {
  const mode = process.argv[modeFlag + 1] as Mode;
  if (!ALL_MODES.includes(mode)) throw new Error(`Unknown mode ${mode}; one of ${ALL_MODES.join(', ')}`);
  await child(mode);
} else {
  await parent();
}

/** bench/tracing.ts's results: the figures written to bench/results/tracing.json, and the table printed. */
import { createRequire } from 'node:module';
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { environment, median, writeResults } from '../lib.ts';
import {
  BATCH_SIZE,
  type ChildReport,
  CONCURRENCY,
  MESSAGES,
  type Mode,
  RUNS,
  SEND_CHUNK,
  WAIT_TIME_MS,
  WARMUP_MESSAGES,
  WARMUPS,
} from './config.ts';

/** What Missive's batch send shape means, as the results describe it. */
function batchShapeOf(reports: Record<string, ChildReport[]>): string | null {
  const shape = reports.traced?.[0]?.batchShape ?? reports['sdk-floor']?.[0]?.batchShape;
  if (shape === 'create')
    return 'per batch a CLIENT send span linked to a PRODUCER create span per message, each message carrying its create span';
  if (shape === 'send') return 'per batch a send span, whose context every message of the batch carries';
  return null;
}

/** The installed version of package `name`, or null. */
function versionOf(name: string): string | null {
  try {
    return (createRequire(import.meta.url)(`${name}/package.json`) as { version: string }).version;
  } catch {
    return null;
  }
}

/**
 * Computes, prints and writes the results of `reports` (per mode, one report per round), which
 * began at `began` (performance.now()); `spanShapes` and `shapesMatch` come from the shape check.
 */
export function reportResults(
  modes: readonly Mode[],
  reports: Record<string, ChildReport[]>,
  began: number,
  spanShapes: Record<string, string> | null,
  shapesMatch: boolean | null,
): void {
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
    spanShapes,
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

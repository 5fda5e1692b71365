/**
 * A child process of bench/tracing.ts: one mode, a warm-up run and a measured run, reported to
 * the parent over IPC.
 */
import type * as Missive from '../../src/index.ts';
import type * as MissiveTelemetry from '../../src/telemetry/index.ts';
import type * as MissiveMemory from '../../src/transports/memory/index.ts';
import { type LayerRun, runLayer as runMemoryLayer, verifyRun } from '../lib/layer.ts';
import { importSrc, settle, verbose } from '../lib.ts';
import {
  BATCH_SIZE,
  type ChildReport,
  CONCURRENCY,
  DESTINATION,
  MESSAGES,
  type MissiveModules,
  type Mode,
  RUN_TIMEOUT_MS,
  SDK_MODES,
  SEND_CHUNK,
  WAIT_TIME_MS,
  WARMUP_MESSAGES,
  WARMUPS,
} from './config.ts';
import { runFloor } from './floor.ts';
import { expectedSpans, probeBatchShape, registerSdk, type Sdk } from './sdk.ts';

/** The measured src/'s entry points in one object, loaded the way an application imports them. */
async function loadMissive(): Promise<MissiveModules> {
  const missive = await importSrc<typeof Missive>('index.ts');
  const memory = await importSrc<typeof MissiveMemory>('transports/memory/index.ts');
  const telemetry = await importSrc<typeof MissiveTelemetry>('telemetry/index.ts');
  return { ...missive, ...memory, ...telemetry };
}

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

/** Runs `mode` (a warm-up run, then the measured one) and reports to the parent. */
export async function child(mode: Mode): Promise<void> {
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

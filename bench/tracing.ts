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
import { fileURLToPath } from 'node:url';
import { choicesFromEnv } from './lib.ts';
import { child } from './tracing/child.ts';
import { ALL_MODES, type ChildReport, type Mode, RUN_TIMEOUT_MS, RUNS } from './tracing/config.ts';
import { reportResults } from './tracing/results.ts';

const self = fileURLToPath(import.meta.url);

/** Runs `mode` in a fresh child process (this script with `--mode`); its report. */
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

/** The modes interleaved, one child process per mode and round; then the results. */
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

  reportResults(modes, reports, began, tracedShapes ?? floorShapes ?? null, shapesMatch);
}

const modeFlag = process.argv.indexOf('--mode');
if (modeFlag !== -1) {
  const mode = process.argv[modeFlag + 1] as Mode;
  if (!ALL_MODES.includes(mode)) throw new Error(`Unknown mode ${mode}; one of ${ALL_MODES.join(', ')}`);
  await child(mode);
} else {
  await parent();
}

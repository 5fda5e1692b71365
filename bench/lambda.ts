/**
 * Cold start of an SQS Lambda handler on Missive against the same handler on AWS Lambda
 * Powertools: bundle size, and the import time the library adds on top of the AWS SDK.
 *
 *   npm run bench:lambda                  # 10 samples per figure, ~20 s on 2 cores
 *   BENCH_RUNS=30 node bench/lambda.ts    # more samples (the import figures are a few ms)
 *   BENCH_KEEP=1 node bench/lambda.ts     # keep the bundles and metafiles (the path is printed)
 *   BENCH_NO_WRITE=1 node bench/lambda.ts # print only
 *   BENCH_VERBOSE=1 node bench/lambda.ts  # print every round
 *   BENCH_SRC=/tmp/proto/src node bench/lambda.ts   # bundle missive/* from a prototype copy of src/
 *
 * The two handlers (bench/lambda/*-handler.ts) do the same work per record (bench/lambda/work.ts),
 * return partial batch responses and keep idempotency in DynamoDB, keyed by the SQS message id,
 * on one `DynamoDBClient` each constructs at import:
 * - missive: `sqsHandler` from `missive/lambda` with `dynamoDbIdempotencyStore` from
 *   `missive/dynamodb`, resolved to this repository's sources through the package's `exports`
 *   (./dist/x.js -> src/x.ts), under its `sideEffects: false`, as a user's bundler sees dist/.
 * - powertools: `BatchProcessor` + `processPartialResponse` (EventType.SQS) with `makeIdempotent`
 *   on a `DynamoDBPersistenceLayer`, as the Powertools docs combine them.
 *
 * Size (bench/lambda/bundle.ts): esbuild, minified, ESM, platform node, target node24, comments
 * dropped, every `@aws-sdk/*` package external (the Lambda runtime provides the SDK); bytes and
 * gzip size (zlib level 9). Each bundle's inputs are ranked by the gzip bytes the bundle loses
 * without them, with their minified bytes from the metafile: where the bytes go.
 *
 * Import time (bench/lambda/import-time.ts, one fresh `node` process per sample, timing
 * `await import()`). Each handler has an "SDK alone" module, generated from its bundle's
 * metafile: every `@aws-sdk/*` package the bundle imports statically, and the SDK clients the
 * handler constructs at import, constructed the same way. An SDK package counts as SDK whoever
 * pulls it in (Powertools imports `@aws-sdk/util-dynamodb` for marshalling: it is in Powertools'
 * SDK-alone module), and a package the bundle imports only with `import()` (Missive's
 * `@aws-sdk/client-sqs`, loaded on the first failed record) is not loaded for either. Per side:
 * - importOverheadMs (the headline): in one process, the SDK alone, then the bundle; minus, in
 *   another, the SDK alone, then a copy of it (the clients constructed again). The medians of the
 *   second imports: what the library adds once the SDK is loaded.
 * - acrossProcesses: median cold import of the bundle minus median cold import of the SDK alone,
 *   each in processes of their own, as the issue words it. Each is ~60-100 ms whose spread on a
 *   shared machine is larger than the few ms of difference, so it is kept for reference only.
 * - cpu: the headline in process CPU time instead of wall time, immune to waiting for a core.
 * All jobs run round-robin, the order rotating each round, after one unrecorded warm-up round.
 * SDK packages resolve to this repository's node_modules through a temporary directory; one not
 * installed (a peer dependency Missive does not need) is replaced in both the bundle's and its
 * SDK-alone's process by a stub that exports the names used, and listed in `sdkStubs`: the
 * overheads are unaffected, the absolute import times lack it.
 *
 * Target: Missive's gzip size and import overhead each at most half of Powertools'. Results go
 * to bench/results/lambda.json.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUNDLE_OPTIONS, type Bundle, bundle, packageOf } from './lambda/bundle.ts';
import { environment, intFromEnv, median, srcRoot, verbose, writeResults } from './lib.ts';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..');
const RUNS = intFromEnv('BENCH_RUNS', 10);
const WARMUP_ROUNDS = 1;
/** A sample that takes longer than this fails the bench (a module that hangs at import). */
const SAMPLE_TIMEOUT_MS = 30_000;
const TOP_INPUTS = 10;

/** An SDK client a handler constructs at import: the SDK-alone module constructs it too. */
interface SdkClient {
  readonly from: string;
  readonly name: string;
}

interface Side {
  readonly name: 'missive' | 'powertools';
  readonly label: string;
  readonly entry: string;
  readonly clients: readonly SdkClient[];
}

const dynamoDbClient: SdkClient = { from: '@aws-sdk/client-dynamodb', name: 'DynamoDBClient' };
const sides: readonly Side[] = [
  {
    name: 'missive',
    label: 'missive/lambda + missive/dynamodb',
    entry: 'bench/lambda/missive-handler.ts',
    clients: [dynamoDbClient],
  },
  {
    name: 'powertools',
    label: 'powertools batch + idempotency',
    entry: 'bench/lambda/powertools-handler.ts',
    clients: [dynamoDbClient],
  },
];

/**
 * Names exported by empty stubs of SDK packages that may be missing from node_modules. Only
 * packages no Missive code needs belong here; the stub throws if anything calls it.
 */
const sdkStubExports: Readonly<Record<string, readonly string[]>> = {
  '@aws-sdk/util-dynamodb': ['convertToAttr', 'convertToNative', 'marshall', 'unmarshall'],
};

/** Bundles `side`'s handler into `outdir` and checks it imports the SDK clients it constructs. */
async function bundleSide(side: Side, outdir: string): Promise<Bundle> {
  const result = await bundle(root, srcRoot, side.entry, join(outdir, `${side.name}.mjs`));
  for (const client of side.clients) {
    if (!result.sdkImports.includes(client.from)) {
      throw new Error(`${side.name}: constructs ${client.name} but its bundle does not import ${client.from}`);
    }
  }
  return result;
}

/**
 * The SDK alone as `side` loads it: the same SDK imports, the same clients constructed at import.
 * Written twice, as `-sdk.mjs` and `-sdk-again.mjs`: importing the second after the first times
 * what the SDK costs once loaded (the clients constructed again), the baseline of the in-process
 * overhead.
 */
function writeSdkModules(side: Side, sdkImports: readonly string[], outdir: string): { first: string; again: string } {
  const lines = sdkImports.map((specifier, i) => `import * as sdk${i} from ${JSON.stringify(specifier)};`);
  const constructed = side.clients.map((client) => `new sdk${sdkImports.indexOf(client.from)}.${client.name}({})`);
  lines.push(`export const clients = [${constructed.join(', ')}];`);
  lines.push(`export const modules = [${sdkImports.map((_, i) => `sdk${i}`).join(', ')}];`);
  const first = join(outdir, `${side.name}-sdk.mjs`);
  const again = join(outdir, `${side.name}-sdk-again.mjs`);
  for (const file of [first, again]) writeFileSync(file, `${lines.join('\n')}\n`);
  return { first, again };
}

/** Makes `outdir/node_modules` resolve every SDK package to this repository's, or to a stub. */
function linkSdkPackages(packages: readonly string[], outdir: string): string[] {
  const stubbed: string[] = [];
  for (const name of packages) {
    const target = join(outdir, 'node_modules', name);
    mkdirSync(dirname(target), { recursive: true });
    const installed = join(root, 'node_modules', name);
    if (existsSync(installed)) {
      symlinkSync(installed, target, 'dir');
      continue;
    }
    const names = sdkStubExports[name];
    if (!names) throw new Error(`${name} is imported by a bundle but not installed; run npm install`);
    mkdirSync(target);
    writeFileSync(join(target, 'package.json'), JSON.stringify({ name, type: 'module', exports: './index.js' }));
    const body = names.map(
      (n) => `export function ${n}() { throw new Error('${name} is a benchmark stub: it is not installed'); }`,
    );
    writeFileSync(join(target, 'index.js'), `${body.join('\n')}\n`);
    stubbed.push(name);
  }
  return stubbed;
}

interface Sample {
  /** Wall-clock milliseconds per module, in the order imported. */
  readonly ms: readonly number[];
  /** CPU milliseconds of the process (user + system, all threads) per module. */
  readonly cpuMs: readonly number[];
  /** What the last module exports. */
  readonly exports: readonly string[];
}

/** Cold imports of `files`, in order, in one fresh node process. */
function importOnce(files: readonly string[]): Promise<Sample> {
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    // What the Lambda runtime sets and the handlers may read at import.
    AWS_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: 'missive-bench',
    IDEMPOTENCY_TABLE: 'idempotency',
  };
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [join(here, 'lambda/import-time.ts'), ...files], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: SAMPLE_TIMEOUT_MS,
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code !== 0) {
        const what = files.join(' then ');
        reject(new Error(`Importing ${what} failed (exit ${code ?? signal}): ${stderr.trim() || stdout.trim()}`));
        return;
      }
      resolvePromise(JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as Sample);
    });
  });
}

const outdir = mkdtempSync(join(tmpdir(), 'missive-bench-lambda-'));
try {
  const bundles = new Map<Side['name'], Bundle>();
  const sdkModules = new Map<Side['name'], { first: string; again: string }>();
  for (const side of sides) {
    const result = await bundleSide(side, outdir);
    bundles.set(side.name, result);
    sdkModules.set(side.name, writeSdkModules(side, result.sdkImports, outdir));
    if (process.env.BENCH_KEEP) writeFileSync(join(outdir, `${side.name}.meta.json`), JSON.stringify(result.metafile));
  }
  const sdkPackages = [
    ...new Set([...bundles.values()].flatMap((b) => [...b.sdkImports, ...b.sdkLazyImports].map(packageOf))),
  ].sort();
  const sdkStubs = linkSdkPackages(sdkPackages, outdir);

  // Four jobs per side, each a fresh process. Across processes (the issue's definition): the
  // bundle alone, and the SDK alone. In one process (the headline, far less noisy): the SDK alone
  // then the bundle, and the SDK alone then a copy of it; the second import of each times what
  // loading the bundle, or the SDK's client construction alone, adds to a process that has the
  // SDK loaded.
  const jobs = sides.flatMap((side) => {
    const bundleFile = bundles.get(side.name)?.file as string;
    const sdk = sdkModules.get(side.name) as { first: string; again: string };
    return [
      { key: side.name as string, files: [bundleFile], handler: true },
      { key: `${side.name}-sdk`, files: [sdk.first], handler: false },
      { key: `${side.name}-after-sdk`, files: [sdk.first, bundleFile], handler: true },
      { key: `${side.name}-sdk-after-sdk`, files: [sdk.first, sdk.again], handler: false },
    ];
  });
  const samples = new Map<string, number[]>(jobs.map((job) => [job.key, []]));
  const cpuSamples = new Map<string, number[]>(jobs.map((job) => [job.key, []]));
  for (let round = -WARMUP_ROUNDS; round < RUNS; round++) {
    const offset = ((round % jobs.length) + jobs.length) % jobs.length;
    for (const job of [...jobs.slice(offset), ...jobs.slice(0, offset)]) {
      const sample = await importOnce(job.files);
      if (job.handler && !sample.exports.includes('handler')) {
        throw new Error(`${job.files.at(-1)} exports no handler (exports: ${sample.exports.join(', ')})`);
      }
      if (round >= 0) {
        samples.get(job.key)?.push(sample.ms.at(-1) as number);
        cpuSamples.get(job.key)?.push(sample.cpuMs.at(-1) as number);
      }
    }
    verbose(`round ${round}: ${[...samples].map(([k, v]) => `${k} ${v.at(-1)?.toFixed(1)}`).join(', ')}`);
  }

  const round2 = (value: number) => Math.round(value * 100) / 100;
  const medianMs = (key: string) => round2(median(samples.get(key) ?? []));
  const medianCpuMs = (key: string) => round2(median(cpuSamples.get(key) ?? []));
  const cpuOverheadMs = (name: Side['name']) =>
    round2(medianCpuMs(`${name}-after-sdk`) - medianCpuMs(`${name}-sdk-after-sdk`));
  const ratio = (a: number, b: number) => (b > 0 ? Number((a / b).toFixed(4)) : null);
  const missive = bundles.get('missive') as Bundle;
  const powertools = bundles.get('powertools') as Bundle;
  const figures = (name: Side['name']) => {
    const importMs = medianMs(name);
    const sdkImportMs = medianMs(`${name}-sdk`);
    const afterSdkMs = medianMs(`${name}-after-sdk`);
    const sdkAgainMs = medianMs(`${name}-sdk-after-sdk`);
    return {
      importMs,
      sdkImportMs,
      afterSdkMs,
      sdkAgainMs,
      overheadMs: round2(afterSdkMs - sdkAgainMs),
      acrossProcessesMs: round2(importMs - sdkImportMs),
    };
  };
  const m = figures('missive');
  const p = figures('powertools');
  const bundleGzipRatio = ratio(missive.gzipBytes, powertools.gzipBytes);
  const importOverheadRatio = ratio(m.overheadMs, p.overheadMs);
  const gzipMet = bundleGzipRatio !== null && bundleGzipRatio <= 0.5;
  const importMet = importOverheadRatio !== null && importOverheadRatio <= 0.5;

  const results = {
    bundleGzipBytes: missive.gzipBytes,
    powertoolsBundleGzipBytes: powertools.gzipBytes,
    importOverheadMs: m.overheadMs,
    powertoolsImportOverheadMs: p.overheadMs,
    bundleGzipRatio,
    importOverheadRatio,
    targetMet: gzipMet && importMet,
    target: {
      rule: "Missive's gzip size and import overhead each at most half of Powertools'",
      bundleGzipMet: gzipMet,
      importOverheadMet: importMet,
    },
    importOverheadMethod:
      'in one fresh process per sample: median time to import the bundle right after its SDK-alone module, minus ' +
      'the median time to import a copy of the SDK-alone module right after it (the clients constructed again)',
    bundleBytes: missive.bytes,
    powertoolsBundleBytes: powertools.bytes,
    bundleRatio: ratio(missive.bytes, powertools.bytes),
    medians: {
      missive: {
        coldImportMs: m.importMs,
        sdkAloneColdImportMs: m.sdkImportMs,
        importAfterSdkMs: m.afterSdkMs,
        sdkAgainAfterSdkMs: m.sdkAgainMs,
      },
      powertools: {
        coldImportMs: p.importMs,
        sdkAloneColdImportMs: p.sdkImportMs,
        importAfterSdkMs: p.afterSdkMs,
        sdkAgainAfterSdkMs: p.sdkAgainMs,
      },
    },
    acrossProcesses: {
      what: 'median cold import of the bundle minus median cold import of its SDK alone, each in its own processes: the definition in the issue, kept for comparison; on a shared machine its noise is larger than the overheads',
      importOverheadMs: m.acrossProcessesMs,
      powertoolsImportOverheadMs: p.acrossProcessesMs,
      ratio: ratio(m.acrossProcessesMs, p.acrossProcessesMs),
    },
    cpu: {
      what: 'the headline overhead in CPU time of the process (user + system, all threads) instead of wall time: unaffected by waiting for a core on a busy machine',
      importOverheadMs: cpuOverheadMs('missive'),
      powertoolsImportOverheadMs: cpuOverheadMs('powertools'),
      ratio: ratio(cpuOverheadMs('missive'), cpuOverheadMs('powertools')),
    },
    sdkImports: { missive: missive.sdkImports, powertools: powertools.sdkImports },
    sdkLazyImports: { missive: missive.sdkLazyImports, powertools: powertools.sdkLazyImports },
    sdkClientsConstructed: Object.fromEntries(sides.map((s) => [s.name, s.clients.map((c) => c.name)])),
    sdkStubs,
    topInputs: {
      what: 'the inputs putting most into each bundle: minified bytes (esbuild metafile), and the gzip bytes the bundle loses without them (leave one out, through the source map)',
      missive: missive.contributors.slice(0, TOP_INPUTS),
      powertools: powertools.contributors.slice(0, TOP_INPUTS),
    },
    samplesMs: Object.fromEntries([...samples].map(([key, values]) => [key, values.map(round2)])),
    cpuSamplesMs: Object.fromEntries([...cpuSamples].map(([key, values]) => [key, values.map(round2)])),
    runs: RUNS,
    warmupRounds: WARMUP_ROUNDS,
    statistic: 'median of RUNS samples, one fresh node process each, jobs round-robin in a rotating order',
    esbuild: BUNDLE_OPTIONS,
    ...environment(),
    timestamp: new Date().toISOString(),
  };

  console.log(`Lambda SQS handler cold start: medians of ${RUNS} fresh processes per figure, node ${process.version}`);
  const cells = ['bytes', 'gzip', 'cold import', 'SDK alone', 'overhead', 'across'];
  console.log(`${''.padEnd(34)}${cells.map((c) => c.padStart(12)).join('')}`);
  const ms = (value: number) => `${value.toFixed(1)} ms`;
  const row = (label: string, b: Bundle, f: ReturnType<typeof figures>) => {
    const values = [String(b.bytes), String(b.gzipBytes), ...[f.importMs, f.sdkImportMs, f.overheadMs].map(ms)];
    console.log(`${label.padEnd(34)}${[...values, ms(f.acrossProcessesMs)].map((c) => c.padStart(12)).join('')}`);
  };
  row(sides[0]?.label ?? 'missive', missive, m);
  row(sides[1]?.label ?? 'powertools', powertools, p);
  const percent = (value: number | null) => (value === null ? '-' : `${(value * 100).toFixed(1)}%`);
  console.log(
    `missive / powertools: gzip ${percent(bundleGzipRatio)}, import overhead ${percent(importOverheadRatio)}; ` +
      `target (both at most 50%): ${results.targetMet ? 'met' : 'not met'}`,
  );
  console.log(
    'overhead: the bundle imported after its SDK alone in one process, minus the SDK alone imported again; ' +
      `across: cold import minus SDK alone, from separate processes (noisy; ratio ${percent(results.acrossProcesses.ratio)})`,
  );
  console.log(
    `overhead in CPU time: missive ${ms(results.cpu.importOverheadMs)}, powertools ${ms(results.cpu.powertoolsImportOverheadMs)} ` +
      `(${percent(results.cpu.ratio)})`,
  );
  const sdkList = (b: Bundle) =>
    [...b.sdkImports, ...b.sdkLazyImports.map((path) => `${path} (lazy, not loaded at import)`)].join(', ');
  console.log(`SDK imports: missive ${sdkList(missive)}; powertools ${sdkList(powertools)}`);
  if (sdkStubs.length > 0) console.log(`stubbed (not installed, same in bundle and SDK alone): ${sdkStubs.join(', ')}`);
  for (const side of sides) {
    console.log(`biggest inputs of ${side.name}'s bundle: minified bytes, gzip bytes saved without it`);
    for (const c of results.topInputs[side.name]) {
      console.log(`  ${String(c.bytes).padStart(8)} ${String(c.gzipBytes).padStart(7)}  ${c.input}`);
    }
  }

  writeResults('lambda', results);
} finally {
  if (process.env.BENCH_KEEP) console.log(`kept bundles in ${outdir}`);
  else rmSync(outdir, { recursive: true, force: true });
}

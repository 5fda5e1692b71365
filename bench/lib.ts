/**
 * Helpers every benchmark shares: environment overrides, the src/ measured, medians, runs that
 * start after a full GC and fail after a timeout, and where the results go.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

const here = dirname(fileURLToPath(import.meta.url));

/** The src/ measured: this repository's, or the prototype copy BENCH_SRC names. */
export const srcRoot = process.env.BENCH_SRC ? resolve(process.env.BENCH_SRC) : resolve(here, '../src');

/** Imports a module of the src/ measured by its path under src/, e.g. `transports/sqs/index.ts`. */
export function importSrc<T>(path: string): Promise<T> {
  return import(pathToFileURL(resolve(srcRoot, path)).href) as Promise<T>;
}

/** A positive integer from the environment, or `fallback` when unset. */
export function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

/**
 * The comma-separated entries of `all` that the environment variable `name` lists, or all of
 * them when it is unset; an entry not in `all` throws (`Unknown ${what} ${entry}`).
 */
export function choicesFromEnv<T extends string>(name: string, all: readonly T[], what: string): T[] {
  const raw = process.env[name];
  const chosen = (raw ? raw.split(',').map((entry) => entry.trim()) : [...all]) as T[];
  for (const entry of chosen) if (!all.includes(entry)) throw new Error(`Unknown ${what} ${entry}`);
  return chosen;
}

/** Prints `text` when BENCH_VERBOSE is set. */
export function verbose(text: string): void {
  if (process.env.BENCH_VERBOSE) console.log(text);
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
}

/** Nearest-rank percentile of ascending `sorted`, p in (0, 1]. */
export function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.max(0, Math.ceil(p * sorted.length) - 1)] as number;
}

/** `value` rounded to `digits` decimals (2 unless told). */
export const round = (value: number, digits = 2) => Number(value.toFixed(digits));

/** Count, p50, p90, p99, max and mean of `values`, each rounded to 2 decimals. */
export function summary(values: readonly number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    count: sorted.length,
    p50: round(percentile(sorted, 0.5)),
    p90: round(percentile(sorted, 0.9)),
    p99: round(percentile(sorted, 0.99)),
    max: round(sorted[sorted.length - 1] as number),
    mean: round(sorted.reduce((sum, v) => sum + v, 0) / sorted.length),
  };
}

/** The short commit measured, `+dirty` when src/ has uncommitted changes; null for a BENCH_SRC copy. */
export function gitCommit(): string | null {
  if (process.env.BENCH_SRC) return null;
  try {
    const git = (...args: string[]) => execFileSync('git', args, { cwd: here, encoding: 'utf8' }).trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--', '../src') ? '+dirty' : ''}`;
  } catch {
    return null;
  }
}

/** Node, platform and cores of this machine: the first keys of every result's environment. */
export function machine() {
  return { node: process.version, platform: `${process.platform}-${process.arch}`, cpus: availableParallelism() };
}

/** The machine, the src/ measured (`src` or the BENCH_SRC path) and its commit. */
export function environment() {
  return { ...machine(), src: process.env.BENCH_SRC ? srcRoot : 'src', commit: gitCommit() };
}

/** Writes `results` as JSON to bench/results/`name`.json (or `out`), unless BENCH_NO_WRITE is set. */
export function writeResults(name: string, results: unknown, out = resolve(here, 'results', `${name}.json`)): void {
  if (process.env.BENCH_NO_WRITE) return;
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(results, null, 2)}\n`);
  console.log(`wrote ${out}`);
}

let collectGarbage: (() => void) | undefined;

/**
 * Before a timed run: a full collection, so garbage of the previous run is not billed to the
 * next, then `ms` for timers and pending I/O of the previous run to settle.
 */
export async function settle(ms: number): Promise<void> {
  if (!collectGarbage) {
    setFlagsFromString('--expose-gc');
    collectGarbage = runInNewContext('gc') as () => void;
  }
  collectGarbage();
  await sleep(ms);
}

/**
 * Whether `work` was still pending after `ms`. The timer is ref'd: it fails a stuck run, and
 * keeps the process alive even if every timer left in the library is unref'd.
 */
export async function timedOut(work: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const late = await Promise.race([
    work.then(() => false),
    new Promise<boolean>((resolveLate) => {
      timer = setTimeout(() => resolveLate(true), ms);
    }),
  ]);
  clearTimeout(timer);
  return late;
}

interface StatsLike {
  readonly acked: number;
  readonly received: number;
  readonly duplicates: number;
  readonly retried: number;
  readonly deadLettered: number;
  readonly released: number;
}
interface CountsLike {
  readonly visible: number;
  readonly inFlight: number;
  readonly delayed: number;
}

/**
 * What is wrong with a finished in-memory run that should have handled `expected` messages
 * once each, with no retries or dead letters, leaving both queues empty.
 */
export function runProblems(stats: StatsLike, expected: number, queue: CountsLike, deadLetters: CountsLike): string[] {
  const problems: string[] = [];
  if (stats.acked !== expected) problems.push(`acked ${stats.acked}, expected ${expected}`);
  if (stats.received !== expected) problems.push(`received ${stats.received}, expected ${expected}`);
  for (const key of ['duplicates', 'retried', 'deadLettered', 'released'] as const) {
    if (stats[key] !== 0) problems.push(`${stats[key]} ${key}`);
  }
  for (const [name, counts] of [
    ['queue', queue],
    ['dead-letter queue', deadLetters],
  ] as const) {
    if (counts.visible + counts.inFlight + counts.delayed !== 0)
      problems.push(`${name} not empty: ${JSON.stringify(counts)}`);
  }
  return problems;
}

/** Prints what failed (its first ten problems) and exits with code 1; exit handlers stop servers. */
export function fail(what: string, problems: readonly string[]): never {
  console.error(`FAIL ${what}: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? '; …' : ''}`);
  process.exit(1);
}

/** Helpers every benchmark shares: environment overrides, medians, and the commit measured. */
import { type ChildProcess, execFileSync } from 'node:child_process';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** A positive integer from the environment, or `fallback` when unset. */
export function intFromEnv(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 1) throw new Error(`${name} must be a positive integer, got ${raw}`);
  return value;
}

/** The median of `values` (the mean of the middle two for an even count). */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  return sorted.length % 2
    ? (sorted[middle] as number)
    : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
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

/**
 * Kills the child process `current()` returns (a server the bench forked) when this process
 * exits, and on SIGINT or SIGTERM, so an interrupted or failed bench leaves no server behind.
 */
export function killChildOnExit(current: () => ChildProcess | undefined): void {
  const kill = () => {
    const child = current();
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.on('exit', kill);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      kill();
      process.exit(130);
    });
  }
}

/** Prints what failed (its first ten problems) and exits with code 1; exit handlers stop servers. */
export function fail(what: string, problems: readonly string[]): never {
  console.error(`FAIL ${what}: ${problems.slice(0, 10).join('; ')}${problems.length > 10 ? '; …' : ''}`);
  process.exit(1);
}

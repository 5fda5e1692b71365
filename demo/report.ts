/**
 * Helpers of the orders demo: a seeded random source, the live progress line, the checks that
 * nothing was lost or processed twice, and the summary.
 *
 * @module
 */
import type { ConsumerStats, FailureMetadata } from '../src/index.ts';
import type { QueueCounts } from '../src/transports/memory/index.ts';

/** mulberry32: a tiny, fast PRNG with 32 bits of state. Same seed, same sequence. */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * A number in [0, 1) fixed by `seed` and `parts` (FNV-1a, then one mulberry32 step), so a
 * decision about one order does not depend on the order in which concurrent handlers run.
 */
export function chance(seed: number, ...parts: (string | number)[]): number {
  let hash = 0x811c9dc5 ^ seed;
  for (const char of parts.join(':')) hash = Math.imul(hash ^ (char.codePointAt(0) ?? 0), 0x01000193);
  return mulberry32(hash)();
}

/** Thousands separators, so counts read at a glance. */
export const n = (value: number) => value.toLocaleString('en-US');

/**
 * Redraws `render()` in place every 100 ms on a terminal, or prints it every 500 ms otherwise
 * (CI logs, pipes); nothing when `quiet`. `stop()` prints the final state and ends the line.
 */
export function startProgress(quiet: boolean, render: () => string): { stop(): void } {
  if (quiet) return { stop: () => undefined };
  const tty = process.stdout.isTTY === true;
  // On a terminal, never wider than it: a wrapped line cannot be redrawn with \r.
  const clip = (line: string) => line.slice(0, Math.max(20, (process.stdout.columns || 80) - 1));
  const draw = () => (tty ? process.stdout.write(`\r${clip(render())}\x1b[K`) : console.log(render()));
  const timer = setInterval(draw, tty ? 100 : 500);
  return {
    stop() {
      clearInterval(timer);
      draw();
      if (tty) process.stdout.write('\n');
    },
  };
}

/** One message found in the dead-letter queue. */
export interface DeadLetter {
  readonly orderId: string;
  readonly failure: FailureMetadata | undefined;
}

/** Everything the run produced, for the checks and the summary. */
export interface RunReport {
  readonly seed: number;
  readonly orders: readonly string[];
  readonly poison: ReadonlySet<string>;
  readonly duplicatesSent: number;
  readonly sent: number;
  readonly sendFailures: number;
  /** Successful handler runs per order id. */
  readonly handled: ReadonlyMap<string, number>;
  readonly deadLetters: readonly DeadLetter[];
  readonly stats: ConsumerStats;
  readonly queue: QueueCounts;
  readonly released: number;
  readonly elapsedMs: number;
  readonly timedOut: boolean;
  /** The first few errors reported by the consumer (outside handlers), and how many there were. */
  readonly consumerErrors: readonly string[];
  readonly consumerErrorCount: number;
}

/** Every way the run could have lost or repeated work; empty when all is well. */
export function verify(run: RunReport): string[] {
  const problems: string[] = [];
  const dead = new Set(run.deadLetters.map((letter) => letter.orderId));
  const lost = run.orders.filter((id) => !run.handled.has(id) && !dead.has(id));
  const twice = run.orders.filter((id) => (run.handled.get(id) ?? 0) > 1);
  const poisonMissed = [...run.poison].filter((id) => !dead.has(id) || run.handled.has(id));
  const list = (ids: readonly string[]) => ids.slice(0, 10).join(', ') + (ids.length > 10 ? ', …' : '');
  if (run.timedOut) problems.push('timed out waiting for every message to be settled');
  if (run.sendFailures > 0) problems.push(`${run.sendFailures} sends failed`);
  if (lost.length > 0) problems.push(`${lost.length} order(s) LOST (neither handled nor dead-lettered): ${list(lost)}`);
  if (twice.length > 0) problems.push(`${twice.length} order(s) PROCESSED TWICE: ${list(twice)}`);
  if (poisonMissed.length > 0) problems.push(`poison order(s) not dead-lettered: ${list(poisonMissed)}`);
  const { acked, duplicates, deadLettered, received, retried, inFlight } = run.stats;
  const handledRuns = [...run.handled.values()].reduce((sum, count) => sum + count, 0);
  if (acked !== handledRuns)
    problems.push(`consumer acked ${acked} messages but handlers succeeded ${handledRuns} times`);
  if (acked + duplicates + deadLettered !== run.sent)
    problems.push(`${run.sent} sent but ${acked + duplicates + deadLettered} settled for good`);
  if (received !== acked + duplicates + deadLettered + retried + run.released)
    problems.push(`${received} deliveries received but ${acked + duplicates + deadLettered + retried} settled`);
  if (run.deadLetters.length !== deadLettered)
    problems.push(
      `consumer dead-lettered ${deadLettered} messages; the dead-letter queue holds ${run.deadLetters.length}`,
    );
  if (run.deadLetters.some((letter) => !letter.failure)) problems.push('a dead letter has no failure headers');
  const left = run.queue.visible + run.queue.inFlight + run.queue.delayed;
  if (left > 0 || inFlight > 0) problems.push(`${left} message(s) left on the queue, ${inFlight} in flight`);
  if (run.consumerErrorCount > 0)
    problems.push(`${run.consumerErrorCount} consumer error(s), first: ${run.consumerErrors.join(' | ')}`);
  return problems;
}

/** The summary: what happened to the messages, why dead letters died, and how fast it went. */
export function printSummary(run: RunReport, problems: readonly string[]): void {
  const { stats } = run;
  const seconds = run.elapsedMs / 1000;
  const row = (label: string, value: number | string, note = '') =>
    console.log(`  ${label.padEnd(15)}${String(value).padStart(8)}  ${note}`.trimEnd());
  console.log(`\nMissive orders demo (seed ${run.seed}, in-memory transport)`);
  row('sent', n(run.sent), `messages: ${n(run.orders.length)} orders + ${n(run.duplicatesSent)} re-sent duplicates`);
  row('delivered', n(stats.acked), 'messages handled successfully and acked');
  row('retried', n(stats.retried), 'deliveries failed transiently and retried with backoff');
  row('dead-lettered', n(run.deadLetters.length), `messages in the dead-letter queue (${n(run.poison.size)} poison)`);
  const byReason = new Map<string, DeadLetter[]>();
  for (const letter of run.deadLetters) {
    const reason = letter.failure?.reason ?? 'no failure headers';
    byReason.set(reason, [...(byReason.get(reason) ?? []), letter]);
  }
  for (const [reason, letters] of byReason) {
    const attempts = [...new Set(letters.map((letter) => letter.failure?.attempts))].sort().join('/');
    const ids = letters.map((letter) => letter.orderId).sort();
    const shown = ids.slice(0, 5).join(', ') + (ids.length > 5 ? ', …' : '');
    console.log(
      `    ${String(letters.length).padStart(4)} × ${reason} (after ${attempts} attempt${attempts === '1' ? '' : 's'}): ${shown}`,
    );
    const first = letters[0]?.failure;
    if (first) console.log(`           last error: ${first.errorName}: ${first.errorMessage}`);
  }
  row('duplicates', n(stats.duplicates), 'suppressed by the idempotency store (handler not run)');
  row('throughput', n(Math.round(run.sent / seconds)), 'messages/s, first send to last settlement');
  row('elapsed', `${seconds.toFixed(2)} s`);
  if (problems.length === 0) {
    console.log(
      `\nOK: every order was handled exactly once or dead-lettered; none twice; all ${run.poison.size} poison orders dead-lettered.`,
    );
  } else {
    console.error(`\nFAILED: ${problems.length} problem(s):`);
    for (const problem of problems) console.error(`  - ${problem}`);
  }
}

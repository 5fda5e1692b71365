/** Timing helpers of bench/sqs.ts: an open-loop schedule, and waiting for SQS to confirm deletes. */

import type { ProblemSink } from './checks.ts';
import type { CountedClient } from './client.ts';
import { RUN_TIMEOUT_MS } from './config.ts';

export const sleep = (ms: number) => new Promise<void>((resolveSleep) => setTimeout(resolveSleep, ms));

/** Resolves when `condition` holds after a call of the returned `check`; rejects after `limitMs`. */
function until(condition: () => boolean, limitMs: number, what: () => string) {
  let resolveDone!: () => void;
  let timer: NodeJS.Timeout | undefined;
  const done = new Promise<void>((resolveIt, reject) => {
    resolveDone = resolveIt;
    timer = setTimeout(() => reject(new Error(`not finished within ${limitMs} ms: ${what()}`)), limitMs);
  });
  // Awaited later (after the sends, say): a timeout before then is not an unhandled rejection.
  done.catch(() => undefined);
  const check = () => {
    if (condition()) {
      clearTimeout(timer);
      resolveDone();
    }
  };
  check();
  return { done, check };
}

/**
 * Calls `fire(i)` for i in [0, count) at `rate` per second, open loop: the schedule does not wait
 * for earlier calls to finish. Resolves once the last call was made.
 */
export async function paced(count: number, rate: number, fire: (i: number) => void): Promise<void> {
  const interval = 1000 / rate;
  const start = performance.now();
  let i = 0;
  while (i < count) {
    const due = Math.min(count, Math.floor((performance.now() - start) / interval) + 1);
    while (i < due) fire(i++);
    if (i < count) await sleep(Math.max(0, start + i * interval - performance.now()));
  }
}

/**
 * Starts counting `counted`'s confirmed deletes towards `count`. The function returned waits for
 * them (at most RUN_TIMEOUT_MS) and gives the milliseconds since `start`: NaN, with a problem
 * added, if they did not all come.
 */
export function awaitDeletes(counted: CountedClient, count: number, problems: ProblemSink) {
  const finished = until(
    () => counted.counts.deleted >= count,
    RUN_TIMEOUT_MS,
    () => `${counted.counts.deleted} of ${count} deleted`,
  );
  counted.onDeleted = finished.check;
  return async (start: number): Promise<number> => {
    let elapsedMs = Number.NaN;
    try {
      await finished.done;
      elapsedMs = performance.now() - start;
    } catch (error) {
      problems.add((error as Error).message);
    }
    counted.onDeleted = undefined;
    return elapsedMs;
  };
}

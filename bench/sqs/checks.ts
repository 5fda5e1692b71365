/**
 * What bench/sqs.ts checks after every run: that a queue holds each message sent exactly once,
 * that queues are empty at the end, that each message was handled exactly once, and that the
 * consumer reported nothing unexpected.
 */
import type { ConsumerStats } from '../../src/index.ts';
import type { Body } from './config.ts';
import { type BenchQueue, inspectQueue } from './emulator.ts';

/** Problems unless the queue holds exactly one message of each index below `count`, all ready. */
export async function checkQueueHolds(name: string, count: number): Promise<string[]> {
  const { messages } = await inspectQueue(name);
  const problems: string[] = [];
  if (messages.delayed.length || messages.inflight.length)
    problems.push(`${messages.delayed.length} delayed and ${messages.inflight.length} in-flight messages in ${name}`);
  const seen = new Uint8Array(count);
  let foreign = 0;
  for (const { body } of messages.ready) {
    const n = (JSON.parse(body) as Body).n;
    if (Number.isInteger(n) && n >= 0 && n < count) seen[n] = (seen[n] as number) + 1;
    else foreign++;
  }
  if (foreign) problems.push(`${foreign} unexpected messages in ${name}`);
  problems.push(...exactlyOnce(seen, `in ${name}`));
  return problems;
}

/** Problems unless the queue and its dead-letter queue are empty: ready, delayed and in flight. */
export async function checkQueueEmpty(queue: BenchQueue): Promise<string[]> {
  const problems: string[] = [];
  for (const name of [queue.name, queue.deadLetterName]) {
    const { messages } = await inspectQueue(name);
    const total = messages.ready.length + messages.delayed.length + messages.inflight.length;
    if (total > 0)
      problems.push(
        `${name} not empty: ${messages.ready.length} ready, ${messages.delayed.length} delayed, ${messages.inflight.length} in flight`,
      );
  }
  return problems;
}

/** Problems unless every entry of `seen` (times each index was seen) is 1. */
export function exactlyOnce(seen: Uint8Array, where: string): string[] {
  let missing = 0;
  let repeated = 0;
  for (const count of seen) {
    if (count === 0) missing++;
    else if (count > 1) repeated++;
  }
  const problems: string[] = [];
  if (missing) problems.push(`${missing} of ${seen.length} messages missing ${where}`);
  if (repeated) problems.push(`${repeated} messages more than once ${where}`);
  return problems;
}

/** A problem list that keeps the first few. */
export function problemList(): { readonly list: string[]; add(text: string): void } {
  let count = 0;
  const list: string[] = [];
  return {
    list,
    add(text) {
      if (++count <= 10) list.push(text);
      else if (count === 11) list.push('… more');
    },
  };
}

export type ProblemSink = ReturnType<typeof problemList>;

/**
 * Adds a problem unless the consumer acked `count` messages (and received as many, if
 * `received`), with nothing duplicated, retried, dead-lettered or released.
 */
export function consumerProblems(stats: ConsumerStats, count: number, problems: ProblemSink, received: boolean): void {
  if (stats.acked !== count) problems.add(`consumer acked ${stats.acked}, expected ${count}`);
  if (received && stats.received !== count) problems.add(`consumer received ${stats.received}, expected ${count}`);
  for (const key of ['duplicates', 'retried', 'deadLettered', 'released'] as const)
    if (stats[key] !== 0) problems.add(`consumer ${key}: ${stats[key]}`);
}

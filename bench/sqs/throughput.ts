/**
 * bench/sqs.ts's throughput phase: per run, three fresh queues filled by three producers
 * (Missive, raw, raw with Missive's envelope attribute), checked, then drained by the matching
 * consumers and checked again; the median of RUNS runs after a warm-up run.
 */
import { fail, median, round, settle, verbose } from '../lib.ts';
import { checkQueueEmpty, checkQueueHolds, exactlyOnce, problemList } from './checks.ts';
import { type Counts, countedClient } from './client.ts';
import { MESSAGES, RUNS, WARMUP_MESSAGES } from './config.ts';
import { type ConsumeResult, consumeMissive, consumeRaw } from './consumer.ts';
import { createQueue, deleteQueue, withCpu } from './emulator.ts';
import { produceMissive, produceRaw } from './producer.ts';

/** CPU ms in the bench process and in fauxqs (null where /proc cannot tell). */
export type Cpu = { bench: number; fauxqs: number | null };
export type Side = 'missive' | 'raw' | 'rawWithAttributes';
export const SIDES: readonly Side[] = ['missive', 'raw', 'rawWithAttributes'];

export interface ThroughputRun {
  /** msg/s per side. */
  producer: Record<Side, number>;
  consumer: Record<Side, number>;
  /** CPU ms per 1 000 messages, in the bench process and in fauxqs. */
  producerCpu: Record<Side, Cpu>;
  consumerCpu: Record<Side, Cpu>;
  missiveProducerCounts: Counts;
  missiveConsumerCounts: Counts;
}

/**
 * Runs one measurement per side, one after the other, each after a settle; the order rotates
 * with `run`, so each side goes first, second and third alike.
 */
async function rotate<T>(run: number, work: Record<Side, () => Promise<T>>) {
  const results = {} as Record<Side, { result: T; cpu: Cpu }>;
  for (let i = 0; i < SIDES.length; i++) {
    const side = SIDES[(run + i) % SIDES.length] as Side;
    await settle(20);
    results[side] = await withCpu(work[side]);
  }
  return results;
}

const mapSides = <T, U>(record: Record<Side, T>, f: (value: T) => U): Record<Side, U> =>
  ({ missive: f(record.missive), raw: f(record.raw), rawWithAttributes: f(record.rawWithAttributes) }) as Record<
    Side,
    U
  >;

/**
 * One throughput run: three fresh queues filled by the three producers (Missive, raw, raw with
 * Missive's envelope attribute), checked, then drained by the matching consumers (Missive, raw,
 * raw asking for Missive's attributes) and checked again.
 */
async function throughputRun(run: number, count: number, label: string): Promise<ThroughputRun> {
  const queues = {
    missive: await createQueue(`tp-missive-${run}`),
    raw: await createQueue(`tp-raw-${run}`),
    rawWithAttributes: await createQueue(`tp-raw-attr-${run}`),
  };
  const problems = problemList();
  const rate = (ms: number) => count / (ms / 1000);
  const per1000 = (cpu: Cpu): Cpu => ({
    bench: round((cpu.bench * 1000) / count, 1),
    fauxqs: cpu.fauxqs === null ? null : round((cpu.fauxqs * 1000) / count, 1),
  });

  const producers = { missive: countedClient(), raw: countedClient(), rawWithAttributes: countedClient() };
  const produced = await rotate(run, {
    missive: () => produceMissive(producers.missive, queues.missive.url, count, problems),
    raw: () => produceRaw(producers.raw, queues.raw.url, count, problems),
    rawWithAttributes: () =>
      produceRaw(producers.rawWithAttributes, queues.rawWithAttributes.url, count, problems, true),
  });
  if (problems.list.length) fail(`producers (${label})`, problems.list);
  const held: string[] = [];
  for (const side of SIDES) held.push(...(await checkQueueHolds(queues[side].name, count)));
  if (held.length) fail(`producers (${label})`, held);

  const consumers = { missive: countedClient(), raw: countedClient(), rawWithAttributes: countedClient() };
  const consumed = await rotate<ConsumeResult>(run, {
    missive: () => consumeMissive(consumers.missive, queues.missive.url, count, problems),
    raw: () => consumeRaw(consumers.raw, queues.raw.url, count, problems),
    rawWithAttributes: () =>
      consumeRaw(consumers.rawWithAttributes, queues.rawWithAttributes.url, count, problems, true),
  });
  const checks = [...problems.list];
  for (const side of SIDES) {
    checks.push(...exactlyOnce(consumed[side].result.seen, `from the ${side} consumer`));
    checks.push(...(await checkQueueEmpty(queues[side])));
  }
  if (checks.length) fail(`consumers (${label})`, checks);
  for (const side of SIDES) {
    await deleteQueue(queues[side]);
    producers[side].client.destroy();
    consumers[side].client.destroy();
  }

  const result: ThroughputRun = {
    producer: mapSides(produced, (p) => rate(p.result)),
    consumer: mapSides(consumed, (c) => rate(c.result.elapsedMs)),
    producerCpu: mapSides(produced, (p) => per1000(p.cpu)),
    consumerCpu: mapSides(consumed, (c) => per1000(c.cpu)),
    missiveProducerCounts: producers.missive.counts,
    missiveConsumerCounts: consumers.missive.counts,
  };
  verbose(
    `throughput ${label}: producer msg/s ${JSON.stringify(mapSides(result.producer, Math.round))}, ` +
      `consumer msg/s ${JSON.stringify(mapSides(result.consumer, Math.round))}; cpu ms/1000 msgs producer ` +
      `${JSON.stringify(result.producerCpu)} consumer ${JSON.stringify(result.consumerCpu)}; ` +
      `missive producer calls ${JSON.stringify(producers.missive.counts.calls)}, consumer calls ` +
      `${JSON.stringify(consumers.missive.counts.calls)}`,
  );
  return result;
}

export interface ThroughputSummary {
  /** Median msg/s per side. */
  readonly producer: Record<Side, number>;
  readonly consumer: Record<Side, number>;
  /** Median CPU ms per 1 000 messages per side (bench process, fauxqs). */
  readonly producerCpu: Record<Side, Cpu>;
  readonly consumerCpu: Record<Side, Cpu>;
  readonly runs: ThroughputRun[];
}

/** A warm-up run of WARMUP_MESSAGES, then RUNS runs of MESSAGES; the medians per side. */
export async function throughputPhase(): Promise<ThroughputSummary> {
  await throughputRun(0, WARMUP_MESSAGES, 'warm-up');
  const runs: ThroughputRun[] = [];
  for (let run = 1; run <= RUNS; run++) runs.push(await throughputRun(run, MESSAGES, `run ${run}`));
  const medianOf = (pick: (run: ThroughputRun) => Record<Side, number>) =>
    Object.fromEntries(SIDES.map((side) => [side, Math.round(median(runs.map((r) => pick(r)[side])))])) as Record<
      Side,
      number
    >;
  const cpuOf = (pick: (run: ThroughputRun) => Record<Side, Cpu>) =>
    Object.fromEntries(
      SIDES.map((side) => {
        const fauxqs = runs.map((r) => pick(r)[side].fauxqs);
        return [
          side,
          {
            bench: round(median(runs.map((r) => pick(r)[side].bench)), 1),
            fauxqs: fauxqs.includes(null) ? null : round(median(fauxqs as number[]), 1),
          },
        ];
      }),
    ) as Record<Side, Cpu>;
  return {
    producer: medianOf((r) => r.producer),
    consumer: medianOf((r) => r.consumer),
    producerCpu: cpuOf((r) => r.producerCpu),
    consumerCpu: cpuOf((r) => r.consumerCpu),
    runs,
  };
}

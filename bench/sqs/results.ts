/** bench/sqs.ts's results: the figures and their definitions written to bench/results/sqs.json, and the summary printed. */

import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { environment, round, summary } from '../lib.ts';
import { totalCalls } from './client.ts';
import {
  BATCH_SIZE,
  CONCURRENCY,
  EARLY_EMPTY_MARGIN_MS,
  HEADLINE_RATE,
  LATENCY_MESSAGES,
  LATENCY_RATE,
  LATENCY_RUNS,
  LINGER_MS,
  MESSAGES,
  POLLERS,
  RUNS,
  SENDERS,
  STEADY_MESSAGES,
  STEADY_RUNS,
  STEADY_SECONDS,
  WARMUP_MESSAGES,
} from './config.ts';
import type { LatencyRun, LatencySamples } from './latency.ts';
import { headlineOf, type SteadyPhase } from './steady.ts';
import type { Cpu, Side, ThroughputSummary } from './throughput.ts';

/** What the phases measured (undefined: the phase did not run), and how long they took. */
export interface Phases {
  readonly throughput: ThroughputSummary | undefined;
  readonly steady: SteadyPhase;
  readonly latency: { readonly samples: LatencySamples; readonly perRun: LatencyRun[] } | undefined;
  readonly benchSeconds: number;
  readonly phaseSeconds: Record<string, number>;
}

/** The version of the installed package `name`, or null. */
function packageVersion(name: string): string | null {
  try {
    // The package's own package.json, found above its resolved entry point (import.meta.resolve
    // also works for ESM-only packages such as fauxqs, whose exports hide ./package.json).
    let dir = dirname(fileURLToPath(import.meta.resolve(name)));
    for (let i = 0; i < 5; i++) {
      try {
        const pkg = JSON.parse(readFileSync(resolve(dir, 'package.json'), 'utf8')) as {
          name?: string;
          version?: string;
        };
        if (pkg.name === name) return pkg.version ?? null;
      } catch {
        // not here
      }
      dir = dirname(dir);
    }
  } catch {
    // not resolvable
  }
  return null;
}

/** The results written to bench/results/sqs.json. */
export function sqsResults(phases: Phases) {
  const { throughput, benchSeconds, phaseSeconds } = phases;
  const steady = phases.steady.runs;
  const latency = phases.latency?.samples;
  const latencyRuns = phases.latency?.perRun ?? [];
  const ratio = (a: number | undefined, b: number | undefined) =>
    a !== undefined && b !== undefined && b > 0 ? round(a / b, 4) : null;
  const headline = headlineOf(phases.steady);
  const latencySummary = latency && {
    missiveSendMs: summary(latency.missiveSend),
    batchWaitMs: summary(latency.batchWait),
    sendMessageBatchCallMs: summary(latency.batchCall),
    rawSendMessageMs: summary(latency.rawSend),
    averageEntriesPerSendMessageBatch: round(
      latency.batchEntries.reduce((sum, n) => sum + n, 0) / latency.batchEntries.length,
    ),
  };
  const batchingP99Ms = latencySummary ? latencySummary.batchWaitMs.p99 : null;
  const producerRatio = ratio(throughput?.producer.missive, throughput?.producer.raw);
  const consumerRatio = ratio(throughput?.consumer.missive, throughput?.consumer.raw);
  const requestsPerMessage = headline ? headline.requestsPerMessage : null;

  return {
    producerRatio,
    consumerRatio,
    requestsPerMessage,
    requestsPerMessageDefinition:
      `every SQS request of a producer and a consumer on one fresh queue, divided by the messages, with the producer ` +
      `${HEADLINE_RATE === 'max' ? 'sending flat out' : `paced at ${HEADLINE_RATE} msg/s`}; other rates, the breakdown by command and the figure without fauxqs's early ` +
      `empty receives are under steady`,
    batchingP99Ms,
    batchingP99Definition:
      `p99 over every message of the time from its producer.send() call to the start of the SendMessageBatch request ` +
      `carrying it (SDK middleware, initialize step): the wait batching adds, which batchLingerMs (${LINGER_MS} ms by ` +
      `default) bounds, plus event-loop lag. Sends paced at ${LATENCY_RATE} msg/s, open loop. Not p99(missive send) - ` +
      `p50(raw call): subtracting a median from a p99 bills the network and emulator tail to the batcher. End-to-end ` +
      `send latencies, and p99 - p99 against raw SendMessage at the same rate, are under latency for context.`,
    targets: {
      producerRatio: { target: '>= 0.8', met: producerRatio !== null && producerRatio >= 0.8 },
      consumerRatio: { target: '>= 0.8', met: consumerRatio !== null && consumerRatio >= 0.8 },
      requestsPerMessage: { target: '<= 0.35', met: requestsPerMessage !== null && requestsPerMessage <= 0.35 },
      batchingP99Ms: { target: '<= 20', met: batchingP99Ms !== null && batchingP99Ms <= 20 },
    },
    producer: throughput && {
      missiveMessagesPerSecond: throughput.producer.missive,
      rawMessagesPerSecond: throughput.producer.raw,
      rawWithEnvelopeAttributeMessagesPerSecond: throughput.producer.rawWithAttributes,
      ratioToRawWithEnvelopeAttribute: ratio(throughput.producer.missive, throughput.producer.rawWithAttributes),
      samples: {
        missive: throughput.runs.map((r) => Math.round(r.producer.missive)),
        raw: throughput.runs.map((r) => Math.round(r.producer.raw)),
        rawWithEnvelopeAttribute: throughput.runs.map((r) => Math.round(r.producer.rawWithAttributes)),
      },
      perRunRatios: throughput.runs.map((r) => round(r.producer.missive / r.producer.raw, 3)),
      missive: `createProducer(sqsQueue) with ${SENDERS} concurrent send() callers of one message each`,
      raw: `${SENDERS / 10} concurrent loops of SendMessageBatch(10), bare bodies`,
      rawWithEnvelopeAttribute:
        'the raw loops with a "missive" String attribute shaped like the envelope (a UUID and a timestamp as JSON) on ' +
        'every entry: the part of the gap that is the attribute (SDK serialising, hashing, bigger requests), not Missive code',
      cpuMsPer1000Messages: throughput.producerCpu,
      cpuRatio: ratio(throughput.producerCpu.raw.bench, throughput.producerCpu.missive.bench),
      missiveRequestsPerMessage: throughput.runs.map((r) => round(totalCalls(r.missiveProducerCounts) / MESSAGES, 4)),
    },
    consumer: throughput && {
      missiveMessagesPerSecond: throughput.consumer.missive,
      rawMessagesPerSecond: throughput.consumer.raw,
      rawWithAttributesMessagesPerSecond: throughput.consumer.rawWithAttributes,
      ratioToRawWithAttributes: ratio(throughput.consumer.missive, throughput.consumer.rawWithAttributes),
      samples: {
        missive: throughput.runs.map((r) => Math.round(r.consumer.missive)),
        raw: throughput.runs.map((r) => Math.round(r.consumer.raw)),
        rawWithAttributes: throughput.runs.map((r) => Math.round(r.consumer.rawWithAttributes)),
      },
      perRunRatios: throughput.runs.map((r) => round(r.consumer.missive / r.consumer.raw, 3)),
      missive: `createConsumer(sqsQueue), concurrency ${CONCURRENCY}, batchSize ${BATCH_SIZE} (${POLLERS} pollers), trivial handler`,
      raw: `${POLLERS} concurrent loops of ReceiveMessage(10, wait 20 s) -> handler -> DeleteMessageBatch, no attributes asked for`,
      rawWithAttributes:
        'the raw loops asking for the attributes Missive asks for (all message attributes and six system attributes), ' +
        'on messages carrying the envelope attribute',
      cpuMsPer1000Messages: throughput.consumerCpu,
      cpuRatio: ratio(throughput.consumerCpu.raw.bench, throughput.consumerCpu.missive.bench),
      missiveRequestsPerMessage: throughput.runs.map((r) => round(totalCalls(r.missiveConsumerCounts) / MESSAGES, 4)),
      missiveRequestsByCommand: throughput.runs.map((r) => r.missiveConsumerCounts.calls),
    },
    steady: {
      headline: headline?.rate ?? null,
      headlineRequestsPerMessageSamples: phases.steady.headlineRuns.map((r) => r.requestsPerMessage),
      headlineStatistic: `median of ${STEADY_RUNS} runs at the headline rate; the other rates ran once`,
      description:
        `producer and consumer (concurrency ${CONCURRENCY}, batchSize ${BATCH_SIZE}, default 20 s long poll) on one ` +
        `fresh queue and one client; paced rates send open loop (at most ${STEADY_SECONDS} s worth of messages), 'max' ` +
        `sends flat out with ${SENDERS} concurrent senders; every SQS request counted, including empty and aborted receives`,
      earlyEmptyReceives:
        `empty receives answered more than ${EARLY_EMPTY_MARGIN_MS} ms before their WaitTimeSeconds ran out. fauxqs ` +
        `wakes every waiting long poll when a message arrives (notifyWaiters), and all but the first come back empty at ` +
        `once; SQS answers a long poll early only with messages. requestsPerMessageWithoutEarlyEmpties is the closer ` +
        `estimate for SQS itself`,
      runs: steady,
    },
    latency: latencySummary && {
      rateMessagesPerSecond: LATENCY_RATE,
      messagesPerRun: LATENCY_MESSAGES,
      runs: LATENCY_RUNS,
      ...latencySummary,
      p99MissiveMinusP99RawSendMessageMs: round(latencySummary.missiveSendMs.p99 - latencySummary.rawSendMessageMs.p99),
      p99MissiveMinusP50SendMessageBatchCallMs: round(
        latencySummary.missiveSendMs.p99 - latencySummary.sendMessageBatchCallMs.p50,
      ),
      perRun: latencyRuns,
    },
    messages: {
      throughputPerRun: MESSAGES,
      throughputWarmup: WARMUP_MESSAGES,
      steadyMax: STEADY_MESSAGES,
      steadyPerRate: steady.map((s) => ({ rate: s.rate, messages: s.messages })),
      latencyPerRunAndSide: LATENCY_MESSAGES,
    },
    runs: RUNS,
    statistic:
      'throughput: median of the runs (msg/s = messages / elapsed); cpuRatio: raw / missive median CPU time of the ' +
      'bench process per message, which background load on the machine disturbs far less than wall-clock rates; ' +
      'latency: pooled samples of the runs',
    senders: SENDERS,
    concurrency: CONCURRENCY,
    batchSize: BATCH_SIZE,
    batchLingerMs: LINGER_MS,
    emulator: `fauxqs ${packageVersion('fauxqs')} in a child process on 127.0.0.1`,
    awsSdk: packageVersion('@aws-sdk/client-sqs'),
    ...environment(),
    benchSeconds: round(benchSeconds, 1),
    phaseSeconds,
    timestamp: new Date().toISOString(),
  };
}

/** Prints the headline figures of `results` and each steady run. */
export function printSummary(phases: Phases, results: ReturnType<typeof sqsResults>): void {
  const { throughput, benchSeconds } = phases;
  const { producerRatio, consumerRatio, batchingP99Ms, latency: latencySummary } = results;
  const headline = headlineOf(phases.steady);
  const format = (value: number | null | undefined) => (value == null ? '-' : value.toLocaleString('en-US'));
  const met = (ok: boolean) => (ok ? 'met' : 'MISSED');
  console.log(
    `missive SQS transport on fauxqs: ${MESSAGES.toLocaleString('en-US')} messages per throughput run, median of ${RUNS}, ` +
      `${SENDERS} sends / ${CONCURRENCY} handlers in flight, node ${process.version}, ${round(benchSeconds, 1)} s`,
  );
  if (throughput) {
    console.log(
      `${''.padEnd(10)} ${'missive msg/s'.padStart(14)} ${'raw msg/s'.padStart(11)}   ${'ratio'.padEnd(7)}target       ` +
        `${'raw+attributes'.padStart(14)}  cpu us/msg missive/raw/raw+attr`,
    );
    const line = (name: string, sides: Record<Side, number>, cpu: Record<Side, Cpu>, r: number | null, ok: boolean) =>
      console.log(
        `${name.padEnd(10)} ${format(sides.missive).padStart(14)} ${format(sides.raw).padStart(11)}   ` +
          `${String(r).padEnd(7)}>= 0.8 ${met(ok).padEnd(7)}${format(sides.rawWithAttributes).padStart(14)}  ` +
          `${cpu.missive.bench}/${cpu.raw.bench}/${cpu.rawWithAttributes.bench}`,
      );
    line('producer', throughput.producer, throughput.producerCpu, producerRatio, results.targets.producerRatio.met);
    line('consumer', throughput.consumer, throughput.consumerCpu, consumerRatio, results.targets.consumerRatio.met);
  }
  for (const s of phases.steady.runs) {
    const by = Object.entries(s.requestsPerMessageByCommand)
      .map(([command, n]) => `${command} ${n}`)
      .join(', ');
    console.log(
      `requests/message @ ${String(s.rate === 'max' ? 'max' : `${s.rate}/s`).padEnd(7)} ${String(s.requestsPerMessage).padEnd(7)}` +
        `${s === headline ? ` (<= 0.35 ${met(results.targets.requestsPerMessage.met)})` : ''} ${by}; ${s.emptyReceives} empty receives (${s.earlyEmptyReceives} early; without those ${s.requestsPerMessageWithoutEarlyEmpties})`,
    );
  }
  if (latencySummary) {
    console.log(
      `batching p99 @ ${LATENCY_RATE}/s: ${batchingP99Ms} ms (<= 20 ${met(results.targets.batchingP99Ms.met)}); ` +
        `send p50/p99 missive ${latencySummary.missiveSendMs.p50}/${latencySummary.missiveSendMs.p99} ms, ` +
        `raw SendMessage ${latencySummary.rawSendMessageMs.p50}/${latencySummary.rawSendMessageMs.p99} ms, ` +
        `${latencySummary.averageEntriesPerSendMessageBatch} entries per batch`,
    );
  }
}

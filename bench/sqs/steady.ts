/**
 * bench/sqs.ts's steady phase: requests per message of a producer and a consumer on one fresh
 * queue and one client, the producer paced at a steady rate or sending flat out. Every request
 * counts, divided by the messages.
 */
import { fail, round, settle, verbose } from '../lib.ts';
import { checkQueueEmpty, consumerProblems, exactlyOnce, problemList } from './checks.ts';
import { benchConsumer, countedClient, createProducer, queueOf, totalCalls } from './client.ts';
import {
  type Body,
  HANDLER_MS,
  HEADLINE_RATE,
  SENDERS,
  STEADY_MESSAGES,
  STEADY_RATES,
  STEADY_RUNS,
  STEADY_SECONDS,
} from './config.ts';
import { createQueue, deleteQueue } from './emulator.ts';
import { awaitDeletes, paced, sleep } from './pacing.ts';

export interface SteadyResult {
  readonly rate: number | 'max';
  readonly messages: number;
  readonly elapsedMs: number;
  readonly achievedMessagesPerSecond: number;
  readonly requests: number;
  readonly requestsPerMessage: number;
  readonly requestsByCommand: Record<string, number>;
  readonly requestsPerMessageByCommand: Record<string, number>;
  readonly averageBatchEntries: Record<string, number>;
  readonly emptyReceives: number;
  readonly earlyEmptyReceives: number;
  /** requestsPerMessage without the early empty receives: what SQS's own long polling would have cost. */
  readonly requestsPerMessageWithoutEarlyEmpties: number;
  readonly abortedOrFailedRequests: Record<string, number>;
  readonly averageMessagesPerReceive: number;
}

/** One run at `rate` msg/s (or flat out); every request the client made, per message. */
async function steadyRun(rate: number | 'max'): Promise<SteadyResult> {
  const count = rate === 'max' ? STEADY_MESSAGES : Math.min(STEADY_MESSAGES, rate * STEADY_SECONDS);
  const queue = await createQueue(`steady-${rate}`);
  const counted = countedClient();
  const problems = problemList();
  const transport = queueOf(counted, queue.url);
  const seen = new Uint8Array(count);
  const consumer = benchConsumer(transport, problems, async (message) => {
    const n = message.body.n;
    seen[n] = (seen[n] as number) + 1;
    if (HANDLER_MS > 0) await sleep(HANDLER_MS);
  });
  const producer = createProducer<Body>({ transport });
  const deleted = awaitDeletes(counted, count, problems);
  await settle(20);
  const start = performance.now();
  consumer.start();
  const sends: Promise<unknown>[] = [];
  const send = (n: number) =>
    producer.send({ n }).catch((error: Error) => problems.add(`send ${n} failed: ${error.message}`));
  if (rate === 'max') {
    let next = 0;
    const sender = async () => {
      while (next < count) await send(next++);
    };
    sends.push(...Array.from({ length: SENDERS }, sender));
  } else {
    await paced(count, rate, (n) => sends.push(send(n)));
  }
  await Promise.all(sends);
  const elapsedMs = await deleted(start);
  // Stopping aborts the waiting long polls; they are counted too.
  await consumer.stop();
  await producer.close();
  consumerProblems(consumer.stats(), count, problems, false);
  const checks = [...problems.list, ...exactlyOnce(seen, 'handled'), ...(await checkQueueEmpty(queue))];
  if (checks.length) fail(`steady ${rate}`, checks);
  await deleteQueue(queue);
  counted.client.destroy();

  const { counts } = counted;
  const requests = totalCalls(counts);
  const result: SteadyResult = {
    rate,
    messages: count,
    elapsedMs: round(elapsedMs, 1),
    achievedMessagesPerSecond: Math.round(count / (elapsedMs / 1000)),
    requests,
    requestsPerMessage: round(requests / count, 4),
    requestsByCommand: { ...counts.calls },
    requestsPerMessageByCommand: Object.fromEntries(
      Object.entries(counts.calls).map(([command, n]) => [command, round(n / count, 4)]),
    ),
    averageBatchEntries: Object.fromEntries(
      Object.entries(counts.entries).map(([command, n]) => [command, round(n / (counts.calls[command] ?? 1), 2)]),
    ),
    emptyReceives: counts.emptyReceives,
    earlyEmptyReceives: counts.earlyEmptyReceives,
    requestsPerMessageWithoutEarlyEmpties: round((requests - counts.earlyEmptyReceives) / count, 4),
    abortedOrFailedRequests: { ...counts.errors },
    averageMessagesPerReceive: round(counts.messagesReceived / (counts.calls.ReceiveMessage ?? 1), 2),
  };
  verbose(`steady ${rate}: ${JSON.stringify(result)}`);
  return result;
}

export interface SteadyPhase {
  /** Every run, in the order run. */
  readonly runs: SteadyResult[];
  /** The headline rate's runs: it alone is run STEADY_RUNS times, as it swings from run to run. */
  readonly headlineRuns: SteadyResult[];
}

/** One run per rate of STEADY_RATES, STEADY_RUNS at HEADLINE_RATE. */
export async function steadyPhase(): Promise<SteadyPhase> {
  const runs: SteadyResult[] = [];
  const headlineRuns: SteadyResult[] = [];
  for (const rate of STEADY_RATES) {
    const isHeadline = String(rate) === HEADLINE_RATE;
    for (let run = 1; run <= (isHeadline ? STEADY_RUNS : 1); run++) {
      const result = await steadyRun(rate);
      runs.push(result);
      if (isHeadline) headlineRuns.push(result);
    }
  }
  return { runs, headlineRuns };
}

/** The headline rate's run with the median requestsPerMessage. */
export function headlineOf(phase: SteadyPhase): SteadyResult | undefined {
  return [...phase.headlineRuns].sort((a, b) => a.requestsPerMessage - b.requestsPerMessage)[
    (phase.headlineRuns.length - 1) >> 1
  ];
}

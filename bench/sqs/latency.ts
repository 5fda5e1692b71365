/**
 * bench/sqs.ts's latency phase: `producer.send()` paced at LATENCY_RATE against raw single
 * `SendMessage` calls at the same pace, interleaved over LATENCY_RUNS runs, timing how long each
 * message waits in the batcher.
 */
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { fail, percentile, round, settle, verbose } from '../lib.ts';
import { checkQueueHolds, problemList } from './checks.ts';
import { countedClient, createProducer, queueOf } from './client.ts';
import { type Body, LATENCY_MESSAGES, LATENCY_RATE, LATENCY_RUNS } from './config.ts';
import { createQueue, deleteQueue } from './emulator.ts';
import { paced } from './pacing.ts';

export interface LatencySamples {
  /** producer.send() call to resolution, per message. */
  missiveSend: number[];
  /** producer.send() call to the start of the SendMessageBatch carrying the message. */
  batchWait: number[];
  /** Duration of each SendMessageBatch call the producer made. */
  batchCall: number[];
  /** Entries per SendMessageBatch. */
  batchEntries: number[];
  /** A raw single SendMessage call, per message. */
  rawSend: number[];
}

/** Missive's producer at LATENCY_RATE: send latencies, batch waits, batch calls and sizes. */
async function latencyMissive(samples: LatencySamples): Promise<void> {
  const queue = await createQueue('latency-missive');
  const counted = countedClient();
  const problems = problemList();
  const calledAt = new Float64Array(LATENCY_MESSAGES).fill(Number.NaN);
  const batchedAt = new Float64Array(LATENCY_MESSAGES).fill(Number.NaN);
  counted.hooks = {
    onStart(command, input, at) {
      if (command !== 'SendMessageBatch') return;
      const entries = input.Entries as { MessageBody: string }[];
      samples.batchEntries.push(entries.length);
      for (const entry of entries) {
        const n = (JSON.parse(entry.MessageBody) as Body).n;
        // The first batch call carrying it (a retry would be a later one).
        if (Number.isNaN(batchedAt[n] as number)) batchedAt[n] = at;
      }
    },
    onEnd(command, _input, startedAt, endedAt) {
      if (command === 'SendMessageBatch') samples.batchCall.push(endedAt - startedAt);
    },
  };
  const producer = createProducer<Body>({ transport: queueOf(counted, queue.url) });
  const sends: Promise<unknown>[] = [];
  await settle(20);
  await paced(LATENCY_MESSAGES, LATENCY_RATE, (n) => {
    const at = performance.now();
    calledAt[n] = at;
    sends.push(
      producer.send({ n }).then(
        () => samples.missiveSend.push(performance.now() - at),
        (error: Error) => problems.add(`send ${n} failed: ${error.message}`),
      ),
    );
  });
  await Promise.all(sends);
  await producer.close();
  for (let n = 0; n < LATENCY_MESSAGES; n++) {
    const wait = (batchedAt[n] as number) - (calledAt[n] as number);
    if (Number.isNaN(wait)) problems.add(`message ${n} was never seen in a SendMessageBatch`);
    else samples.batchWait.push(wait);
  }
  const checks = [...problems.list, ...(await checkQueueHolds(queue.name, LATENCY_MESSAGES))];
  if (checks.length) fail('latency (missive)', checks);
  await deleteQueue(queue);
  counted.client.destroy();
}

/** Raw single SendMessage calls at LATENCY_RATE: their latencies. */
async function latencyRaw(samples: LatencySamples): Promise<void> {
  const queue = await createQueue('latency-raw');
  const counted = countedClient();
  const problems = problemList();
  const sends: Promise<unknown>[] = [];
  await settle(20);
  await paced(LATENCY_MESSAGES, LATENCY_RATE, (n) => {
    const at = performance.now();
    sends.push(
      counted.client.send(new SendMessageCommand({ QueueUrl: queue.url, MessageBody: JSON.stringify({ n }) })).then(
        () => samples.rawSend.push(performance.now() - at),
        (error: Error) => problems.add(`SendMessage ${n} failed: ${error.message}`),
      ),
    );
  });
  await Promise.all(sends);
  const checks = [...problems.list, ...(await checkQueueHolds(queue.name, LATENCY_MESSAGES))];
  if (checks.length) fail('latency (raw)', checks);
  await deleteQueue(queue);
  counted.client.destroy();
}

/** Each run's p99s, in ms. */
export interface LatencyRun {
  readonly missiveSendP99: number;
  readonly batchWaitP99: number;
  readonly rawSendP99: number;
}

/** LATENCY_RUNS runs of each side, alternating which goes first; the pooled samples and each run's p99s. */
export async function latencyPhase(): Promise<{ samples: LatencySamples; perRun: LatencyRun[] }> {
  const latency: LatencySamples = { missiveSend: [], batchWait: [], batchCall: [], batchEntries: [], rawSend: [] };
  const latencyRuns: LatencyRun[] = [];
  for (let run = 1; run <= LATENCY_RUNS; run++) {
    const mark = { m: latency.missiveSend.length, w: latency.batchWait.length, r: latency.rawSend.length };
    // Alternate which side goes first, so drift over the phase hits both alike.
    if (run % 2 === 1) {
      await latencyRaw(latency);
      await latencyMissive(latency);
    } else {
      await latencyMissive(latency);
      await latencyRaw(latency);
    }
    const p99 = (values: number[]) =>
      round(
        percentile(
          [...values].sort((a, b) => a - b),
          0.99,
        ),
      );
    latencyRuns.push({
      missiveSendP99: p99(latency.missiveSend.slice(mark.m)),
      batchWaitP99: p99(latency.batchWait.slice(mark.w)),
      rawSendP99: p99(latency.rawSend.slice(mark.r)),
    });
    verbose(`latency run ${run}: ${JSON.stringify(latencyRuns.at(-1))}`);
  }
  return { samples: latency, perRun: latencyRuns };
}

/**
 * The consumer side of bench/sqs.ts's throughput phase: `createConsumer` against raw
 * `ReceiveMessage` -> handler -> `DeleteMessageBatch` loops, each timed until SQS confirmed the
 * last delete.
 */
import { DeleteMessageBatchCommand, type Message, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { RECEIVE_ATTRIBUTES } from '../../src/transports/sqs/attributes.ts';
import { consumerProblems, type ProblemSink } from './checks.ts';
import { benchConsumer, type CountedClient, queueOf } from './client.ts';
import { type Body, POLLERS } from './config.ts';
import { awaitDeletes } from './pacing.ts';

export interface ConsumeResult {
  readonly elapsedMs: number;
  readonly seen: Uint8Array;
}

/** `createConsumer` on `sqsQueue` (CONCURRENCY, BATCH_SIZE), trivial handler; what it handled, and the ms until the last delete. */
export async function consumeMissive(counted: CountedClient, queueUrl: string, count: number, problems: ProblemSink) {
  const seen = new Uint8Array(count);
  const consumer = benchConsumer(queueOf(counted, queueUrl), problems, async (message) => {
    const n = message.body.n;
    seen[n] = (seen[n] as number) + 1;
  });
  const deleted = awaitDeletes(counted, count, problems);
  const start = performance.now();
  consumer.start();
  const elapsedMs = await deleted(start);
  await consumer.stop();
  consumerProblems(consumer.stats(), count, problems, true);
  return { elapsedMs, seen };
}

/**
 * Raw receive loops. `withAttributes` asks for the attributes Missive's receive asks for, to
 * tell their cost from the rest of Missive's.
 */
export async function consumeRaw(
  counted: CountedClient,
  queueUrl: string,
  count: number,
  problems: ProblemSink,
  withAttributes = false,
) {
  const seen = new Uint8Array(count);
  const handler = async (body: Body) => {
    seen[body.n] = (seen[body.n] as number) + 1;
  };
  const abort = new AbortController();
  const deleted = awaitDeletes(counted, count, problems);
  const loop = async () => {
    while (!abort.signal.aborted) {
      let messages: Message[];
      try {
        const output = await counted.client.send(
          new ReceiveMessageCommand({
            QueueUrl: queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: 20,
            ...(withAttributes ? RECEIVE_ATTRIBUTES : {}),
          }),
          { abortSignal: abort.signal },
        );
        messages = output.Messages ?? [];
      } catch (error) {
        if (!abort.signal.aborted) problems.add(`ReceiveMessage failed: ${(error as Error).message}`);
        return;
      }
      if (messages.length === 0) continue;
      for (const message of messages) await handler(JSON.parse(message.Body as string) as Body);
      try {
        const output = await counted.client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: messages.map((message, i) => ({ Id: String(i), ReceiptHandle: message.ReceiptHandle })),
          }),
        );
        if (output.Failed?.length) problems.add(`${output.Failed.length} deletes failed: ${output.Failed[0]?.Code}`);
      } catch (error) {
        problems.add(`DeleteMessageBatch failed: ${(error as Error).message}`);
      }
    }
  };
  const start = performance.now();
  const loops = Array.from({ length: POLLERS }, loop);
  const elapsedMs = await deleted(start);
  abort.abort();
  await Promise.all(loops);
  return { elapsedMs, seen };
}

/**
 * The producer side of bench/sqs.ts's throughput phase: SENDERS concurrent callers of
 * `producer.send()`, against raw `SendMessageBatch` loops of 10 with as many messages in flight.
 */
import { randomUUID } from 'node:crypto';
import { SendMessageBatchCommand } from '@aws-sdk/client-sqs';
import type { ProblemSink } from './checks.ts';
import { type CountedClient, createProducer, queueOf } from './client.ts';
import { type Body, SENDERS } from './config.ts';

/** `createProducer` on `sqsQueue`: SENDERS callers each awaiting one `send()` at a time. Returns the elapsed ms. */
export async function produceMissive(counted: CountedClient, queueUrl: string, count: number, problems: ProblemSink) {
  const producer = createProducer<Body>({ transport: queueOf(counted, queueUrl) });
  let next = 0;
  const sender = async () => {
    while (next < count) {
      const n = next++;
      try {
        await producer.send({ n });
      } catch (error) {
        problems.add(`send ${n} failed: ${(error as Error).message}`);
      }
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: SENDERS }, sender));
  const elapsedMs = performance.now() - start;
  await producer.close();
  return elapsedMs;
}

/**
 * Raw SendMessageBatch loops. `withEnvelope` adds an attribute shaped like Missive's envelope
 * attribute (a UUID and a timestamp as JSON), to tell its cost from the rest of Missive's.
 */
export async function produceRaw(
  counted: CountedClient,
  queueUrl: string,
  count: number,
  problems: ProblemSink,
  withEnvelope = false,
) {
  let next = 0;
  const loop = async () => {
    while (next < count) {
      const first = next;
      const size = Math.min(10, count - first);
      next += size;
      try {
        const output = await counted.client.send(
          new SendMessageBatchCommand({
            QueueUrl: queueUrl,
            Entries: Array.from({ length: size }, (_, i) => ({
              Id: String(i),
              MessageBody: JSON.stringify({ n: first + i }),
              ...(withEnvelope
                ? {
                    MessageAttributes: {
                      missive: {
                        DataType: 'String',
                        StringValue: JSON.stringify({ i: randomUUID(), t: Date.now() }),
                      },
                    },
                  }
                : {}),
            })),
          }),
        );
        if (output.Failed?.length) problems.add(`${output.Failed.length} entries failed: ${output.Failed[0]?.Code}`);
      } catch (error) {
        problems.add(`SendMessageBatch failed: ${(error as Error).message}`);
      }
    }
  };
  const start = performance.now();
  await Promise.all(Array.from({ length: SENDERS / 10 }, loop));
  return performance.now() - start;
}

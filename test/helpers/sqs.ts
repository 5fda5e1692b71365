import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { inject } from 'vitest';

let queues = 0;

/** A client for the fauxqs emulator the global setup started, with the SDK's own retries off. */
export function sqsClient(): SQSClient {
  return new SQSClient({
    endpoint: inject('sqsEndpoint'),
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: 1,
  });
}

/** Creates a uniquely named queue (and, with `maxReceiveCount`, a dead-letter queue redriven to). */
export async function createSqsQueue(
  client: SQSClient,
  options: { fifo?: boolean; visibilityTimeoutSeconds?: number; maxReceiveCount?: number; name?: string } = {},
): Promise<{ queueUrl: string; deadLetterQueueUrl: string | undefined }> {
  const suffix = options.fifo ? '.fifo' : '';
  const name = `${options.name ?? 'test'}-${process.pid}-${++queues}`;
  const fifo = options.fifo ? { FifoQueue: 'true' } : {};
  let deadLetterQueueUrl: string | undefined;
  const attributes: Record<string, string> = {
    ...fifo,
    VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
  };
  if (options.maxReceiveCount !== undefined) {
    const dlq = await client.send(new CreateQueueCommand({ QueueName: `${name}-dlq${suffix}`, Attributes: fifo }));
    deadLetterQueueUrl = dlq.QueueUrl as string;
    const { Attributes } = await client.send(
      new GetQueueAttributesCommand({ QueueUrl: deadLetterQueueUrl, AttributeNames: ['QueueArn'] }),
    );
    attributes.RedrivePolicy = JSON.stringify({
      deadLetterTargetArn: Attributes?.QueueArn,
      maxReceiveCount: options.maxReceiveCount,
    });
  }
  const queue = await client.send(new CreateQueueCommand({ QueueName: `${name}${suffix}`, Attributes: attributes }));
  return { queueUrl: queue.QueueUrl as string, deadLetterQueueUrl };
}

/** Resolves after `ms` of real time. */
export function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Polls `condition` every 20 ms until it holds; fails after `limitMs` of real time. */
export async function waitUntil(condition: () => boolean, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`Condition not met within ${limitMs} ms`);
    await pause(20);
  }
}

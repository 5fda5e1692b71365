/**
 * The Amazon SQS transport. Import from `missive/sqs`; it needs `@aws-sdk/client-sqs` v3.
 *
 * @module
 */
import { SqsQueue, type SqsQueueOptions } from './queue.ts';

export { SqsQueue, type SqsQueueOptions } from './queue.ts';

/**
 * An SQS queue as both the sender a producer takes and the receiver a consumer takes, on your
 * own `SQSClient`.
 *
 * @example
 * ```ts
 * import { SQSClient } from '@aws-sdk/client-sqs';
 * import { createConsumer, createProducer } from 'missive';
 * import { sqsQueue } from 'missive/sqs';
 *
 * const client = new SQSClient({ region: 'eu-west-1', maxAttempts: 1 });
 * const orders = sqsQueue({ client, queueUrl: process.env.ORDERS_QUEUE_URL! });
 * const producer = createProducer<Order>({ transport: orders });
 * const consumer = createConsumer<Order>({ transport: orders, concurrency: 50, handler });
 * ```
 */
export function sqsQueue(options: SqsQueueOptions): SqsQueue {
  return new SqsQueue(options);
}

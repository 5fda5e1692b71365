// #region imports
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type IdempotencyStore, type Sender, UnrecoverableError } from 'missive';
import { dynamoDbIdempotencyStore } from 'missive/dynamodb';
import { sqsHandler } from 'missive/lambda';
import { sqsQueue } from 'missive/sqs';
// #endregion imports

// Only for main() at the end, the docs test's run of the function.
import { createProducer, memoryIdempotencyStore, readFailureHeaders } from 'missive';
import type { SqsBatchResponse, SqsEvent } from 'missive/lambda';

// #region handler
export interface Order {
  readonly orderId: string;
  readonly sku: string;
  readonly quantity: number;
}

/** Your business logic for one order: reserve stock, charge, ship. Pass `signal` on to its I/O. */
export type FulfilOrder = (order: Order, signal: AbortSignal) => Promise<void>;

export interface OrdersFunction {
  readonly fulfil: FulfilOrder;
  /** Shared by every instance of the function: DynamoDB in production. */
  readonly store: IdempotencyStore;
  /** For the visibility changes that back failed records off. */
  readonly client: SQSClient;
  /** Where orders that cannot succeed go, with the reason attached: the dead-letter queue. */
  readonly deadLetters: Sender;
}

/** The Lambda handler for the orders queue's event source mapping. */
export function ordersHandler({ fulfil, store, client, deadLetters }: OrdersFunction) {
  return sqsHandler<Order>(
    async (message, { signal }) => {
      // Retrying cannot fix this one: it goes to the dead-letter queue at once.
      if (message.body.quantity <= 0) throw new UnrecoverableError(`Order ${message.body.orderId} has no items`);
      await fulfil(message.body, signal);
    },
    {
      client,
      // Up to 10 records at once (a FIFO queue: 10 message groups, each in order).
      concurrency: 10,
      // No record starts in the last 2 s; a handler still running 1 s before the timeout is given up.
      timeoutMarginMs: 2_000,
      // The fifth failed receive dead-letters the order; the queue's maxReceiveCount is higher.
      retry: { maxAttempts: 5 },
      deadLetter: deadLetters,
      // An order delivered twice by SQS, or resent by its producer, is fulfilled once. The key is
      // the message's idempotency key: the producer sends each order with its order id as key.
      idempotency: { store },
    },
  );
}
// #endregion handler

// #region module
/** Stands in for your business logic. */
const fulfilOrder: FulfilOrder = async () => undefined;

// Created once per execution environment, at import: every invocation reuses them.
const store = dynamoDbIdempotencyStore({
  client: new DynamoDBClient({}),
  tableName: process.env.IDEMPOTENCY_TABLE ?? 'idempotency',
});
const sqs = new SQSClient({});
const deadLetters = sqsQueue({
  client: sqs,
  queueUrl: process.env.ORDERS_DLQ_URL ?? 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders-dlq',
});

export const handler = ordersHandler({ fulfil: fulfilOrder, store, client: sqs, deadLetters });
// #endregion module

/**
 * The docs test's run, against fauxqs: three orders, one failing once, one empty. `receiveEvent`
 * receives `count` messages from `queueUrl` and returns them as Lambda's SQS event would carry them.
 */
export async function main({
  client,
  queueUrl,
  deadLetterQueueUrl,
  receiveEvent,
}: {
  client: SQSClient;
  queueUrl: string;
  deadLetterQueueUrl: string;
  receiveEvent: (count: number) => Promise<SqsEvent>;
}) {
  const orders: Order[] = [
    { orderId: 'o-1', sku: 'mug', quantity: 1 },
    { orderId: 'o-2', sku: 'mug', quantity: 0 },
    { orderId: 'o-3', sku: 'teapot', quantity: 1 },
  ];
  const producer = createProducer<Order>({ transport: sqsQueue({ client, queueUrl }) });
  await producer.sendBatch(orders.map((body) => ({ body, idempotencyKey: body.orderId })));
  await producer.close();

  const fulfilled: string[] = [];
  let teapotFailures = 0;
  const fulfil: FulfilOrder = async (order) => {
    // The warehouse API fails once for the teapot: a retry succeeds.
    if (order.sku === 'teapot' && teapotFailures++ === 0) throw new Error('Warehouse API timed out');
    fulfilled.push(order.orderId);
  };
  const handle = ordersHandler({
    fulfil,
    store: memoryIdempotencyStore(),
    client,
    deadLetters: sqsQueue({ client, queueUrl: deadLetterQueueUrl }),
  });
  const context = { getRemainingTimeInMillis: () => 30_000 };
  const failedOrders = (event: SqsEvent, response: SqsBatchResponse) =>
    response.batchItemFailures.map(
      ({ itemIdentifier }) =>
        (JSON.parse(event.Records.find((r) => r.messageId === itemIdentifier)?.body ?? '{}') as Order).orderId,
    );

  const first = await receiveEvent(3);
  const firstFailures = failedOrders(first, await handle(first, context));
  // The failed record comes back after its backoff (at most 1 s on a first failure).
  const second = await receiveEvent(1);
  const secondFailures = failedOrders(second, await handle(second, context));

  const letters = await sqsQueue({ client, queueUrl: deadLetterQueueUrl }).receive({
    maxMessages: 10,
    waitTimeMs: 1_000,
  });
  return {
    failures: [firstFailures, secondFailures],
    fulfilled,
    deadLetters: letters.map((letter) => ({
      order: JSON.parse(letter.envelope.body) as Order,
      failure: readFailureHeaders(letter.envelope.headers),
    })),
  };
}

// #region imports
import { once } from 'node:events';
import { SQSClient } from '@aws-sdk/client-sqs';
import { type ConsumerStats, createConsumer, readFailureHeaders } from 'missive';
import { sqsQueue } from 'missive/sqs';
// #endregion imports

// Only for main() at the end, the docs test's run of the worker.
import { EventEmitter } from 'node:events';
import { setTimeout } from 'node:timers/promises';
import { GetQueueAttributesCommand } from '@aws-sdk/client-sqs';
import { createProducer } from 'missive';

// #region worker
export interface Order {
  readonly orderId: string;
  readonly sku: string;
  readonly quantity: number;
}

/** Your business logic for one order: reserve stock, charge, ship. Pass `signal` on to its I/O. */
export type FulfilOrder = (order: Order, signal: AbortSignal) => Promise<void>;

export interface WorkerOptions {
  /** An SQSClient with `maxAttempts: 1`. */
  readonly client: SQSClient;
  /** The orders queue. Its RedrivePolicy names the dead-letter queue. */
  readonly queueUrl: string;
  /** Aborting it stops the worker gracefully. */
  readonly signal: AbortSignal;
  readonly fulfil: FulfilOrder;
}

/** Consumes the orders queue until `signal` aborts, then stops gracefully and returns the counts. */
export async function runWorker({ client, queueUrl, signal, fulfil }: WorkerOptions): Promise<ConsumerStats> {
  const orders = sqsQueue({
    client,
    queueUrl,
    // The default, spelled out: dead letters go to the queue named by the RedrivePolicy.
    deadLetter: 'native',
  });
  const consumer = createConsumer<Order>({
    transport: orders,
    // Up to 50 orders at once, fed by ceil(50 / 10) = 5 receive loops asking for 10 messages each.
    concurrency: 50,
    // Each receive waits up to 20 s for a message (SQS's longest long poll).
    waitTimeMs: 20_000,
    // A received order stays invisible for 60 s; heartbeats extend that while its handler runs.
    visibilityTimeoutMs: 60_000,
    // On stop, running handlers get 25 s: inside the 30 s that ECS and Kubernetes wait by default.
    stopTimeoutMs: 25_000,
    // Lowered to the RedrivePolicy's maxReceiveCount when the worker starts, if that is smaller.
    retry: { maxAttempts: 10 },
    handler: (message, { signal }) => fulfil(message.body, signal),
  });
  consumer.start();
  if (!signal.aborted) await once(signal, 'abort');
  await consumer.stop();
  return consumer.stats();
}
// #endregion worker

// #region serve
/**
 * The worker process: its main module calls `await serve(fulfilOrder)`, which resolves once a
 * SIGTERM or SIGINT has stopped the worker gracefully. The process then exits by itself.
 */
export async function serve(fulfil: FulfilOrder): Promise<ConsumerStats> {
  const { AWS_REGION: region, ORDERS_QUEUE_URL: queueUrl } = process.env;
  if (!region || !queueUrl) throw new Error('Set AWS_REGION and ORDERS_QUEUE_URL');
  const client = new SQSClient({
    region,
    // Missive retries failed calls itself. SDK retries underneath would multiply its attempts.
    maxAttempts: 1,
    // No credentials in code: the SDK's default chain finds them in the environment (an ECS task
    // role, EKS Pod Identity, AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile).
  });
  try {
    return await runWorker({ client, queueUrl, fulfil, signal: stopSignal() });
  } finally {
    client.destroy();
  }
}
// #endregion serve

// #region stop-signal
/**
 * An AbortSignal that aborts on SIGTERM (what ECS, Kubernetes and systemd send) or SIGINT
 * (Ctrl-C). `target` is `process`, or a stand-in in tests.
 */
export function stopSignal(target: NodeJS.EventEmitter = process): AbortSignal {
  const controller = new AbortController();
  const signals = ['SIGTERM', 'SIGINT'] as const;
  const onSignal = () => {
    // A second signal now gets Node's default behaviour: exit at once.
    for (const name of signals) target.off(name, onSignal);
    controller.abort();
  };
  for (const name of signals) target.once(name, onSignal);
  return controller.signal;
}
// #endregion stop-signal

// #region peek-dead-letters
/** Up to 10 dead letters and why they failed. They stay on the queue: visible again at once. */
export async function peekDeadLetters(client: SQSClient, deadLetterQueueUrl: string) {
  const deadLetters = sqsQueue({ client, queueUrl: deadLetterQueueUrl });
  const deliveries = await deadLetters.receive({ maxMessages: 10, waitTimeMs: 20_000, visibilityTimeoutMs: 0 });
  return deliveries.map((delivery) => ({
    order: JSON.parse(delivery.envelope.body) as Order,
    failure: readFailureHeaders(delivery.envelope.headers),
  }));
}
// #endregion peek-dead-letters

/**
 * For the docs test only, not part of the worker: runs it against a queue that exists already,
 * with a redrive policy (the test creates both in the fauxqs emulator), and an emitter standing
 * in for `process`.
 */
export async function main({
  client,
  queueUrl,
  deadLetterQueueUrl,
}: {
  client: SQSClient;
  queueUrl: string;
  deadLetterQueueUrl: string;
}) {
  const good: Order[] = Array.from({ length: 12 }, (_, i) => ({ orderId: `o-${i + 1}`, sku: 'mug', quantity: 1 }));
  const poison: Order = { orderId: 'o-13', sku: 'discontinued', quantity: 1 };
  const producer = createProducer<Order>({ transport: sqsQueue({ client, queueUrl }) });
  const sent = await producer.sendBatch([...good, poison].map((body) => ({ body, idempotencyKey: body.orderId })));
  await producer.close();

  const fulfilled: string[] = [];
  const fulfil: FulfilOrder = async (order) => {
    // Looks transient, so it is retried until the attempts run out.
    if (order.sku === 'discontinued') throw new Error(`No stock record for SKU ${order.sku}`);
    fulfilled.push(order.orderId);
  };
  const fakeProcess = new EventEmitter();
  const worker = runWorker({ client, queueUrl, fulfil, signal: stopSignal(fakeProcess) });

  // Wait for the outcome: every good order fulfilled, the poison one on the dead-letter queue.
  let deadLetters: Awaited<ReturnType<typeof peekDeadLetters>> = [];
  for (let polls = 0; deadLetters.length === 0 && polls < 2; polls++) {
    deadLetters = await peekDeadLetters(client, deadLetterQueueUrl);
  }
  while (fulfilled.length < good.length) await setTimeout(10);

  fakeProcess.emit('SIGTERM');
  const stats = await worker;

  const { Attributes = {} } = await client.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return {
    sent: sent.map((result) => result.status),
    fulfilled,
    deadLetters,
    stats,
    left: {
      visible: Number(Attributes.ApproximateNumberOfMessages),
      inFlight: Number(Attributes.ApproximateNumberOfMessagesNotVisible),
      delayed: Number(Attributes.ApproximateNumberOfMessagesDelayed),
    },
    listenersLeft: fakeProcess.listenerCount('SIGTERM') + fakeProcess.listenerCount('SIGINT'),
  };
}

import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import {
  type ConsumerOptions,
  createConsumer,
  createProducer,
  type IdempotencyStore,
  MessageTooLargeError,
  memoryIdempotencyStore,
  type Receiver,
  type Sender,
  SendFailedError,
  TransportError,
} from 'missive';
import { ManualClock, memoryQueue } from 'missive/memory';
import { sqsQueue } from 'missive/sqs';
import { missiveTelemetry } from 'missive/telemetry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { consumeUntil } from '../helpers/drain.ts';
import { type HistogramPoint, otelSdk } from '../helpers/otel.ts';
import { sqsClient } from '../helpers/sqs.ts';

let sdk: ReturnType<typeof otelSdk>;
beforeEach(() => {
  sdk = otelSdk();
});
afterEach(async () => {
  await sdk.shutdown();
});

/** Consumes from `queue` until `done` holds, then stops the consumer. */
async function consume(
  queue: Receiver,
  clock: ManualClock,
  handler: ConsumerOptions<unknown>['handler'],
  done: (stats: ReturnType<ReturnType<typeof createConsumer>['stats']>) => boolean,
) {
  const telemetry = missiveTelemetry({ tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider });
  const consumer = createConsumer({
    transport: queue,
    clock,
    telemetry,
    retry: { maxAttempts: 2, backoff: { initialDelayMs: 100, maxDelayMs: 100, jitter: 'none' } },
    handler,
  });
  await consumeUntil(consumer, clock, () => done(consumer.stats()));
}

/** The one data point of the histogram `name`. */
function histogram(points: Awaited<ReturnType<typeof sdk.points>>, name: string): HistogramPoint {
  const found = points[name];
  if (found?.length !== 1) throw new Error(`expected one point of ${name}, got ${found?.length ?? 0}`);
  return (found[0] as { value: HistogramPoint }).value;
}

describe('telemetry metrics', () => {
  it('buckets durations in seconds at the boundaries the messaging conventions advise', async () => {
    const clock = new ManualClock();
    const queue = memoryQueue({ clock, name: 'orders', deadLetterQueue: memoryQueue({ clock }) });
    const telemetry = missiveTelemetry({ tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider });
    await createProducer({ transport: queue, clock, telemetry }).send({ orderId: 1 });
    await consume(
      queue,
      clock,
      () => undefined,
      (s) => s.acked === 1,
    );
    // The SDK's default boundaries (0, 5, 10, 25 … 10 000) are made for milliseconds: in seconds,
    // every attempt under five seconds would fall into one bucket.
    const advised = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
    const points = await sdk.points();
    expect(histogram(points, 'messaging.process.duration').buckets.boundaries).toEqual(advised);
    const { boundaries } = histogram(points, 'missive.message.end_to_end.duration').buckets;
    expect(boundaries[0]).toBeLessThan(0.01);
    expect(boundaries.at(-1)).toBeGreaterThanOrEqual(3_600);
  });

  it('gives the duration of a failed attempt its error.type, and a successful one none', async () => {
    const clock = new ManualClock();
    const queue = memoryQueue({ clock, name: 'orders', deadLetterQueue: memoryQueue({ clock }) });
    const telemetry = missiveTelemetry({ tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider });
    await createProducer({ transport: queue, clock, telemetry }).send({ orderId: 1 });
    let calls = 0;
    await consume(
      queue,
      clock,
      () => {
        if (++calls === 1) throw new TypeError('payment API down');
      },
      (s) => s.acked === 1,
    );
    const points = (await sdk.points())['messaging.process.duration'] ?? [];
    const byError = points.map((p) => [p.attributes['error.type'], (p.value as HistogramPoint).count]);
    expect(byError).toHaveLength(2);
    expect(byError).toContainEqual(['TypeError', 1]);
    expect(byError).toContainEqual([undefined, 1]);
  });

  it('measures end-to-end latency on the clock that stamped the message', async () => {
    const clock = new ManualClock();
    const queue = memoryQueue({ clock, name: 'orders', deadLetterQueue: memoryQueue({ clock }) });
    const telemetry = missiveTelemetry({ tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider });
    await createProducer({ transport: queue, clock, telemetry }).send({ orderId: 1 });
    await clock.advance(5_000);
    await consume(
      queue,
      clock,
      () => undefined,
      (s) => s.acked === 1,
    );
    const value = histogram(await sdk.points(), 'missive.message.end_to_end.duration');
    expect(value.count).toBe(1);
    expect(value.sum).toBeGreaterThanOrEqual(5);
    expect(value.sum).toBeLessThan(6);
  });

  it.each([
    ['refused for good', { status: 'permanent', error: new MessageTooLargeError('orders', 2_000, 1_000) }],
    ['still failing on its last attempt', { status: 'retryable', error: new TransportError('orders', 'reset', true) }],
  ] as const)(
    'gives a message %s the error.type of what the transport said, on its counter, duration and span',
    async (_, failure) => {
      const queue = memoryQueue({ name: 'orders' });
      const sender: Sender = {
        destination: queue.destination,
        features: queue.features,
        send: async (envelopes) => envelopes.map((envelope) => ({ ...failure, id: envelope.id })),
      };
      const telemetry = missiveTelemetry({ tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider });
      const producer = createProducer({ transport: sender, telemetry, retry: { maxAttempts: 1 } });
      await expect(producer.send({ orderId: 1 })).rejects.toThrow(SendFailedError);
      const points = await sdk.points();
      const sent = (points['messaging.client.sent.messages'] ?? []).map((p) => [p.attributes['error.type'], p.value]);
      expect(sent).toEqual([[failure.error.name, 1]]);
      const timed = (points['messaging.client.operation.duration'] ?? []).map((p) => p.attributes['error.type']);
      expect(timed).toEqual([failure.error.name]);
      expect(sdk.finishedSpans().map((span) => span.attributes['error.type'])).toEqual([failure.error.name]);
    },
  );

  it('counts the messages of a send aborted in flight as failed, with the abort as error.type', async () => {
    const queue = memoryQueue({ name: 'orders' });
    // A transport call still waiting when the caller gives up.
    const sender: Sender = {
      destination: queue.destination,
      features: queue.features,
      send: (_, options) =>
        new Promise((_, reject) => options?.signal?.addEventListener('abort', () => reject(options.signal?.reason))),
    };
    const telemetry = missiveTelemetry({ tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider });
    const producer = createProducer({ transport: sender, telemetry });
    const abort = new AbortController();
    const sending = producer.sendBatch([{ body: { orderId: 1 } }, { body: { orderId: 2 } }], { signal: abort.signal });
    abort.abort();
    await expect(sending).rejects.toThrow(/aborted/);
    const points = await sdk.points();
    const sent = (points['messaging.client.sent.messages'] ?? []).map((p) => [p.attributes['error.type'], p.value]);
    expect(sent).toEqual([['AbortError', 2]]);
  });

  it('names many destinations by their template: in span names, beside each name, and alone in metrics', async () => {
    const telemetry = missiveTelemetry({
      tracerProvider: sdk.tracerProvider,
      meterProvider: sdk.meterProvider,
      destinationTemplate: ({ name }) => (name.startsWith('customer-') ? 'customer-queues' : undefined),
    });
    for (const name of ['customer-1', 'customer-2', 'audit'])
      await createProducer({ transport: memoryQueue({ name }), telemetry }).send({ orderId: 1 });
    expect(
      sdk
        .finishedSpans()
        .map((s) => [
          s.name,
          s.attributes['messaging.destination.name'],
          s.attributes['messaging.destination.template'],
        ]),
    ).toEqual([
      ['send customer-queues', 'customer-1', 'customer-queues'],
      ['send customer-queues', 'customer-2', 'customer-queues'],
      ['send audit', 'audit', undefined],
    ]);
    const points = (await sdk.points())['messaging.client.sent.messages'] ?? [];
    expect(
      points.map((p) => [
        p.attributes['messaging.destination.name'],
        p.attributes['messaging.destination.template'],
        p.value,
      ]),
    ).toEqual([
      [undefined, 'customer-queues', 2],
      ['audit', undefined, 1],
    ]);
  });

  it('keeps the metric attributes of two destinations with the same name apart', async () => {
    const client = sqsClient();
    const name = `orders-${process.pid}-metrics`;
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name }));
    const telemetry = missiveTelemetry({ tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider });
    await createProducer({ transport: memoryQueue({ name }), telemetry }).send('to memory');
    await createProducer({ transport: sqsQueue({ client, queueUrl: QueueUrl as string }), telemetry }).send('to SQS');
    const points = (await sdk.points())['messaging.client.sent.messages'] ?? [];
    const sent = points.map((p) => [p.attributes['messaging.system'], p.attributes['aws.sqs.queue.url'], p.value]);
    expect(sent).toEqual([
      ['missive_memory', undefined, 1],
      ['aws_sqs', QueueUrl, 1],
    ]);
  });

  it('counts and times an attempt whose step threw, with no tracer registered', async () => {
    const clock = new ManualClock();
    const queue = memoryQueue({ clock, name: 'orders', deadLetterQueue: memoryQueue({ clock }) });
    const store = memoryIdempotencyStore({ clock });
    const broken: IdempotencyStore = { ...store, begin: () => Promise.reject(new Error('store unreachable')) };
    // Metrics only: no tracer provider, and none registered globally.
    const telemetry = missiveTelemetry({ meterProvider: sdk.meterProvider });
    await createProducer({ transport: queue, clock }).send({ orderId: 1 });
    const consumer = createConsumer({
      transport: queue,
      clock,
      telemetry,
      idempotency: { store: broken },
      retry: { maxAttempts: 1 },
      onError: () => undefined,
      handler: () => undefined,
    });
    await consumeUntil(consumer, clock, () => consumer.stats().deadLettered === 1);
    const points = await sdk.points();
    expect(points['messaging.client.consumed.messages']?.map((p) => p.value)).toEqual([1]);
    expect(points['messaging.process.duration']?.map((p) => p.attributes['error.type'])).toEqual([
      'IdempotencyStoreError',
    ]);
  });

  it('times each send, as messaging.client.operation.duration, with error.type when it failed', async () => {
    const queue = memoryQueue({ name: 'orders', maxMessageBytes: 128 });
    const telemetry = missiveTelemetry({ tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider });
    const producer = createProducer({ transport: queue, telemetry });
    await producer.send('small');
    await expect(producer.send('x'.repeat(200))).rejects.toThrow();
    const points = (await sdk.points())['messaging.client.operation.duration'] ?? [];
    expect(points.map((p) => [p.attributes['messaging.operation.name'], p.attributes['error.type']])).toEqual([
      ['send', undefined],
      ['send', 'MessageTooLargeError'],
    ]);
    expect(points.map((p) => (p.value as HistogramPoint).buckets.boundaries[0])).toEqual([0.005, 0.005]);
  });
});

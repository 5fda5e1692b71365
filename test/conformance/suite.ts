/**
 * The conformance suite: scenarios every transport must pass, switched by its features.
 * A transport's test file calls {@link describeConformance} with a fixture.
 */
import {
  type Consumer,
  type ConsumerOptions,
  createConsumer,
  createProducer,
  type Delivery,
  FailureHeader,
  FailureReason,
  memoryIdempotencyStore,
  type Receiver,
  RetryLaterError,
  readFailureHeaders,
  UnrecoverableError,
} from 'missive';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { QueueUnderTest, TransportFixture } from './fixture.ts';

interface Order {
  readonly orderId: number;
  readonly note: string;
}

/** Receives everything currently on `receiver`, acking it, until a receive comes back empty. */
export async function drain(receiver: Receiver): Promise<Delivery[]> {
  const all: Delivery[] = [];
  for (;;) {
    const batch = await receiver.receive({ maxMessages: 10, waitTimeMs: 0 });
    if (batch.length === 0) return all;
    for (const delivery of batch) {
      all.push(delivery);
      await delivery.ack();
    }
  }
}

export function describeConformance(fixture: TransportFixture): void {
  describe(`${fixture.name} conformance`, () => {
    const consumers: Consumer[] = [];
    const errors: Error[] = [];
    afterEach(async () => {
      await Promise.all(consumers.splice(0).map((consumer) => consumer.stop()));
      expect(errors.splice(0).map((error) => error.message)).toEqual([]);
    });

    const consume = <Body>(queue: QueueUnderTest, options: Omit<ConsumerOptions<Body>, 'transport' | 'clock'>) => {
      const consumer = createConsumer<Body>({
        transport: queue.receiver,
        clock: fixture.clock,
        waitTimeMs: 1_000,
        visibilityTimeoutMs: queue.visibilityTimeoutMs,
        retry: { maxAttempts: 3, backoff: { initialDelayMs: 100, maxDelayMs: 1_000 } },
        onError: (error) => errors.push(error),
        ...options,
      });
      consumers.push(consumer);
      consumer.start();
      return consumer;
    };

    it('round-trips 1,000 messages with body and headers intact', async () => {
      const queue = await fixture.createQueue();
      const producer = createProducer<Order>({ transport: queue.sender, clock: fixture.clock });
      const sent = new Map<string, Order>();
      for (let start = 0; start < 1_000; start += 10) {
        const items = Array.from({ length: 10 }, (_, i) => ({
          body: { orderId: start + i, note: `naïve café ${start + i} ✓` },
          headers: { 'x-tenant': `tenant-${(start + i) % 7}` },
        }));
        const results = await producer.sendBatch(items);
        results.forEach((result, i) => {
          expect(result.status).toBe('sent');
          sent.set(result.id, items[i]?.body as Order);
        });
      }
      const received = new Map<string, { body: Order; tenant: string | undefined }>();
      consume<Order>(queue, {
        concurrency: 20,
        handler: (message) => {
          received.set(message.id, { body: message.body, tenant: message.headers['x-tenant'] });
        },
      });
      await fixture.waitFor(() => received.size === 1_000);
      for (const [id, body] of sent) {
        expect(received.get(id)).toEqual({ body, tenant: `tenant-${body.orderId % 7}` });
      }
    });

    it('loses nothing with several consumers competing for one queue', async () => {
      const queue = await fixture.createQueue();
      const producer = createProducer<Order>({ transport: queue.sender, clock: fixture.clock });
      await producer.sendBatch(Array.from({ length: 300 }, (_, i) => ({ body: { orderId: i, note: '' } })));
      const counts = new Map<number, number>();
      for (let c = 0; c < 3; c++) {
        consume<Order>(queue, {
          concurrency: 5,
          handler: (message) => {
            counts.set(message.body.orderId, (counts.get(message.body.orderId) ?? 0) + 1);
          },
        });
      }
      await fixture.waitFor(() => counts.size === 300);
      await Promise.all(consumers.map((consumer) => consumer.stop()));
      expect([...counts.values()].every((count) => count === 1)).toBe(true);
      expect(await drain(queue.receiver)).toHaveLength(0);
    });

    it('redelivers a message whose handler failed, with the attempt counted', async () => {
      const queue = await fixture.createQueue();
      await createProducer<Order>({ transport: queue.sender }).send({ orderId: 1, note: 'flaky' });
      const attempts: number[] = [];
      consume<Order>(queue, {
        handler: (_message, { attempt }) => {
          attempts.push(attempt);
          if (attempt === 1) throw new Error('transient');
        },
      });
      await fixture.waitFor(() => attempts.length === 2);
      expect(attempts).toEqual([1, 2]);
    });

    it('treats an ack as final: the message never comes back', async () => {
      const queue = await fixture.createQueue();
      await createProducer<Order>({ transport: queue.sender }).send({ orderId: 1, note: '' });
      const [delivery] = await queue.receiver.receive({ maxMessages: 1, waitTimeMs: 1_000 });
      expect(delivery).toBeDefined();
      await delivery?.ack();
      await delivery?.ack();
      await delivery?.retry({ delayMs: 0 });
      await fixture.elapse(queue.visibilityTimeoutMs + 1_000);
      expect(await queue.receiver.receive({ maxMessages: 10, waitTimeMs: 0 })).toHaveLength(0);
    });

    it('redelivers a message whose visibility expired without settlement', async () => {
      const queue = await fixture.createQueue();
      await createProducer<Order>({ transport: queue.sender }).send({ orderId: 7, note: '' });
      const [first] = await queue.receiver.receive({ maxMessages: 1, waitTimeMs: 1_000 });
      expect(first?.attempt).toBe(1);
      expect(await queue.receiver.receive({ maxMessages: 1, waitTimeMs: 0 })).toHaveLength(0);
      await fixture.elapse(queue.visibilityTimeoutMs + 100);
      const [second] = await queue.receiver.receive({ maxMessages: 1, waitTimeMs: 1_000 });
      expect(second?.envelope.id).toBe(first?.envelope.id);
      expect(second?.attempt).toBe(2);
      await second?.ack();
    });

    it('dead-letters after the last attempt, with failure metadata', async () => {
      const queue = await fixture.createQueue();
      await createProducer<Order>({ transport: queue.sender }).send(
        { orderId: 9, note: '' },
        { headers: { 'x-keep': 'yes' } },
      );
      let calls = 0;
      const consumer = consume<Order>(queue, {
        handler: () => {
          calls++;
          throw new TypeError('payment service said no');
        },
      });
      await fixture.waitFor(() => consumer.stats().deadLettered === 1);
      const [dead] = await drain(queue.deadLetters);
      expect(calls).toBe(3);
      expect(dead?.envelope.headers['x-keep']).toBe('yes');
      expect(readFailureHeaders(dead?.envelope.headers ?? {})).toMatchObject({
        reason: FailureReason.AttemptsExhausted,
        errorName: 'TypeError',
        errorMessage: 'payment service said no',
        attempts: 3,
        source: queue.receiver.source,
      });
    });

    it('dead-letters an unrecoverable failure at once', async () => {
      const queue = await fixture.createQueue();
      await createProducer<Order>({ transport: queue.sender }).send({ orderId: 9, note: 'poison' });
      const consumer = consume<Order>(queue, {
        handler: () => {
          throw new UnrecoverableError('order references a deleted customer');
        },
      });
      await fixture.waitFor(() => consumer.stats().deadLettered === 1);
      const [dead] = await drain(queue.deadLetters);
      expect(dead?.envelope.headers[FailureHeader.reason]).toBe(FailureReason.Unrecoverable);
      expect(dead?.envelope.headers[FailureHeader.attempts]).toBe('1');
    });

    it('dead-letters an invalid body without calling the handler', async () => {
      const queue = await fixture.createQueue();
      const producer = createProducer({ transport: queue.sender });
      await producer.send({ orderId: 'not-a-number' });
      await producer.send({ orderId: 3 });
      const schema = z.object({ orderId: z.number() });
      const handled: number[] = [];
      const consumer = consume(queue, { schema, handler: (message) => void handled.push(message.body.orderId) });
      await fixture.waitFor(() => consumer.stats().deadLettered === 1 && handled.length === 1);
      const [dead] = await drain(queue.deadLetters);
      const failure = readFailureHeaders(dead?.envelope.headers ?? {});
      expect(failure?.reason).toBe(FailureReason.InvalidBody);
      expect(failure?.issues?.[0]?.path).toEqual(['orderId']);
      expect(handled).toEqual([3]);
    });

    it('suppresses duplicates through an idempotency store', async () => {
      const queue = await fixture.createQueue();
      const producer = createProducer<Order>({ transport: queue.sender });
      for (let i = 0; i < 20; i++) {
        await producer.send({ orderId: i % 10, note: '' }, { idempotencyKey: `order-${i % 10}` });
      }
      const runs = new Map<number, number>();
      const consumer = consume<Order>(queue, {
        idempotency: { store: memoryIdempotencyStore({ clock: fixture.clock }) },
        concurrency: 1,
        handler: (message) => void runs.set(message.body.orderId, (runs.get(message.body.orderId) ?? 0) + 1),
      });
      await fixture.waitFor(() => consumer.stats().acked === 10 && consumer.stats().duplicates === 10);
      expect([...runs.values()]).toEqual(Array(10).fill(1));
    });

    it('stops gracefully: in-flight work finishes and the rest stays queued', async () => {
      const queue = await fixture.createQueue();
      const producer = createProducer<Order>({ transport: queue.sender });
      await producer.sendBatch(Array.from({ length: 10 }, (_, i) => ({ body: { orderId: i, note: '' } })));
      const started: number[] = [];
      const finished: number[] = [];
      const consumer = consume<Order>(queue, {
        concurrency: 2,
        batchSize: 2,
        handler: async (message) => {
          started.push(message.body.orderId);
          await new Promise((resolve) => setImmediate(resolve));
          finished.push(message.body.orderId);
        },
      });
      await fixture.waitFor(() => started.length >= 2);
      const { released } = await consumer.stop();
      expect(released).toBe(0);
      expect(finished.sort()).toEqual(started.sort());
      // A long poll cut short by stop() may have taken messages whose answer never arrived (SQS);
      // they are not lost: they become visible again when their visibility timeout passes.
      await fixture.elapse(queue.visibilityTimeoutMs + 100);
      const rest = await drain(queue.receiver);
      const handled = new Set(finished);
      expect(rest.map((d) => (JSON.parse(d.envelope.body) as Order).orderId).filter((id) => handled.has(id))).toEqual(
        [],
      );
      expect(rest.length + finished.length).toBe(10);
    });

    it('on stop, releases a message whose handler outlived the deadline, for the next consumer', async () => {
      const queue = await fixture.createQueue();
      await createProducer<Order>({ transport: queue.sender }).send({ orderId: 5, note: 'stuck' });
      let started = false;
      const stuck = consume<Order>(queue, {
        stopTimeoutMs: 100,
        handler: async (_message, { signal }) => {
          started = true;
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
          throw signal.reason;
        },
      });
      await fixture.waitFor(() => started);
      const stopping = stuck.stop();
      await fixture.elapse(1_200);
      expect(await stopping).toEqual({ released: 1 });
      const attempts: number[] = [];
      consume<Order>(queue, { handler: (_message, { attempt }) => void attempts.push(attempt) });
      await fixture.waitFor(() => attempts.length === 1);
      expect(attempts).toEqual([2]);
    });

    it.runIf(fixture.features.nativeDeadLetter)(
      'redrives a message received too often without settlement',
      async () => {
        const queue = await fixture.createQueue({ maxReceiveCount: 2 });
        const { id } = await createProducer<Order>({ transport: queue.sender }).send({
          orderId: 3,
          note: 'crashes its worker',
        });
        for (let receive = 1; receive <= 2; receive++) {
          // A worker receives it and dies without settling; the visibility timeout brings it back.
          const [delivery] = await queue.receiver.receive({
            maxMessages: 1,
            waitTimeMs: queue.visibilityTimeoutMs * 2,
          });
          expect(delivery?.attempt).toBe(receive);
          await fixture.elapse(queue.visibilityTimeoutMs + 100);
        }
        expect(await queue.receiver.receive({ maxMessages: 1, waitTimeMs: 0 })).toHaveLength(0);
        const [dead] = await drain(queue.deadLetters);
        expect(dead?.envelope.id).toBe(id);
      },
    );

    it.runIf(fixture.features.delay)('honours a delivery delay', async () => {
      const queue = await fixture.createQueue();
      await createProducer<Order>({ transport: queue.sender }).send({ orderId: 1, note: '' }, { delayMs: 2_000 });
      expect(await queue.receiver.receive({ maxMessages: 1, waitTimeMs: 0 })).toHaveLength(0);
      await fixture.elapse(1_000);
      expect(await queue.receiver.receive({ maxMessages: 1, waitTimeMs: 0 })).toHaveLength(0);
      await fixture.elapse(1_500);
      expect(await queue.receiver.receive({ maxMessages: 1, waitTimeMs: 1_000 })).toHaveLength(1);
    });

    it.runIf(fixture.features.fifo)(
      'keeps order within each FIFO group while a failure delays only its group',
      async () => {
        const queue = await fixture.createQueue({ fifo: true });
        const producer = createProducer<Order>({ transport: queue.sender });
        for (let i = 0; i < 30; i++) {
          await producer.send({ orderId: i, note: '' }, { groupId: `customer-${i % 3}` });
        }
        const seen = new Map<string, number[]>();
        let failedOnce = false;
        let othersWhenRetried: number[] = [];
        consume<Order>(queue, {
          concurrency: 3,
          handler: (message) => {
            if (message.body.orderId === 4 && !failedOnce) {
              failedOnce = true;
              // Held back long enough for the other groups to finish, whatever the machine's load:
              // the backoff's own delay (up to 100 ms, jittered) raced them through the emulator.
              throw new RetryLaterError('transient', { delayMs: 3_000 });
            }
            if (message.body.orderId === 4)
              othersWhenRetried = [0, 2].map((g) => seen.get(`customer-${g}`)?.length ?? 0);
            const group = message.groupId as string;
            seen.set(group, [...(seen.get(group) ?? []), message.body.orderId]);
          },
        });
        await fixture.waitFor(() => [...seen.values()].reduce((n, ids) => n + ids.length, 0) === 30);
        for (let g = 0; g < 3; g++) {
          expect(seen.get(`customer-${g}`)).toEqual(Array.from({ length: 10 }, (_, k) => g + 3 * k));
        }
        expect(othersWhenRetried).toEqual([10, 10]);
      },
    );
  });
}

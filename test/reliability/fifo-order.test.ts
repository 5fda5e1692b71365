import { createConsumer, type Delivery, type Envelope, type Receiver, UnrecoverableError } from 'missive';
import { ManualClock } from 'missive/memory';
import { describe, expect, it } from 'vitest';

/**
 * Real SQS may return several messages of one FIFO group in a single receive (the in-memory
 * queue and fauxqs never do), so this receiver hands out such a batch once, recording how each
 * delivery was settled.
 */
function oneBatchReceiver(bodies: [group: string, body: string][], ack: () => Promise<void> = async () => undefined) {
  const settled: string[] = [];
  let given = false;
  const deliveries = bodies.map(([groupId, body]): Delivery => {
    const envelope: Envelope = {
      id: body,
      body: JSON.stringify(body),
      headers: {},
      idempotencyKey: body,
      createdAt: 0,
      groupId,
    };
    return {
      envelope,
      attempt: 1,
      firstReceivedAt: 0,
      ack: async () => {
        await ack();
        settled.push(`${body}:ack`);
      },
      retry: async ({ delayMs }) => void settled.push(`${body}:retry(${delayMs})`),
      deadLetter: async () => void settled.push(`${body}:dead`),
      extendVisibility: async () => undefined,
    };
  });
  const receiver: Receiver = {
    source: 'orders.fifo',
    features: { fifo: true, delay: false, deadLetter: true, nativeDeadLetter: false, persistence: true },
    receive: async ({ signal }) => {
      if (!given) {
        given = true;
        return deliveries;
      }
      await new Promise((resolve) => signal?.addEventListener('abort', resolve));
      return [];
    },
  };
  return { receiver, settled };
}

describe('FIFO order in the consumer', () => {
  it('runs a group’s messages one at a time, in order, while other groups run alongside', async () => {
    const clock = new ManualClock();
    const { receiver, settled } = oneBatchReceiver([
      ['a', 'a1'],
      ['b', 'b1'],
      ['a', 'a2'],
      ['a', 'a3'],
      ['b', 'b2'],
    ]);
    const running = new Set<string>();
    const overlaps: string[] = [];
    const order: string[] = [];
    const consumer = createConsumer<string>({
      transport: receiver,
      clock,
      concurrency: 10,
      handler: async (message) => {
        const group = message.groupId as string;
        if (running.has(group)) overlaps.push(message.body);
        running.add(group);
        await new Promise<void>((resolve) => clock.setTimeout(resolve, 10));
        order.push(message.body);
        running.delete(group);
      },
    });
    consumer.start();
    await clock.advanceUntil(() => settled.length === 5, { stepMs: 5 });
    await consumer.stop();
    expect(overlaps).toEqual([]);
    expect(order.filter((b) => b.startsWith('a'))).toEqual(['a1', 'a2', 'a3']);
    expect(order.filter((b) => b.startsWith('b'))).toEqual(['b1', 'b2']);
    expect(order.indexOf('b1')).toBeLessThan(order.indexOf('a2'));
  });

  it('goes on with a group after one of its messages was dead-lettered', async () => {
    const clock = new ManualClock();
    const { receiver, settled } = oneBatchReceiver([
      ['a', 'a1'],
      ['a', 'a2'],
    ]);
    const consumer = createConsumer<string>({
      transport: receiver,
      clock,
      handler: (message) => {
        if (message.body === 'a1') throw new UnrecoverableError('poison');
      },
    });
    consumer.start();
    await clock.advanceUntil(() => settled.length === 2, { stepMs: 5 });
    await consumer.stop();
    expect(settled).toEqual(['a1:dead', 'a2:ack']);
  });

  it('after a failure, releases the rest of that group unprocessed and lets other groups go on', async () => {
    const clock = new ManualClock();
    const { receiver, settled } = oneBatchReceiver([
      ['a', 'a1'],
      ['a', 'a2'],
      ['b', 'b1'],
      ['a', 'a3'],
    ]);
    const handled: string[] = [];
    const consumer = createConsumer<string>({
      transport: receiver,
      clock,
      retry: { backoff: { initialDelayMs: 500, jitter: 'none' } },
      handler: (message) => {
        if (message.body === 'a1') throw new Error('transient');
        handled.push(message.body);
      },
    });
    consumer.start();
    await clock.advanceUntil(() => settled.length === 4, { stepMs: 5 });
    await consumer.stop();
    expect(handled).toEqual(['b1']);
    expect(settled.sort()).toEqual(['a1:retry(500)', 'a2:retry(0)', 'a3:retry(0)', 'b1:ack']);
  });

  it('never runs a message of a group that stop() released while an earlier one of the group still ran', async () => {
    const clock = new ManualClock();
    const { receiver, settled } = oneBatchReceiver([
      ['a', 'a1'],
      ['a', 'a2'],
    ]);
    const handled: string[] = [];
    const consumer = createConsumer<string>({
      transport: receiver,
      clock,
      stopTimeoutMs: 1_000,
      handler: async (message) => {
        handled.push(message.body);
        // a1 ignores the stop deadline, and finishes after stop() released both messages.
        if (message.body === 'a1') await new Promise<void>((resolve) => clock.setTimeout(resolve, 5_000));
      },
    });
    consumer.start();
    await clock.advance(10);
    const stopping = consumer.stop();
    await clock.advance(1_000);
    expect(await stopping).toEqual({ released: 2 });
    await clock.advance(10_000);
    expect(handled).toEqual(['a1']);
    expect(settled).toEqual(['a1:retry(0)', 'a2:retry(0)']);
  });

  it('never runs a message of a group that stop() released while the ack of an earlier one was under way', async () => {
    const clock = new ManualClock();
    const slowAck = () => new Promise<void>((resolve) => clock.setTimeout(resolve, 5_000));
    const { receiver, settled } = oneBatchReceiver(
      [
        ['a', 'a1'],
        ['a', 'a2'],
      ],
      slowAck,
    );
    const handled: string[] = [];
    const consumer = createConsumer<string>({
      transport: receiver,
      clock,
      stopTimeoutMs: 1_000,
      handler: (message) => void handled.push(message.body),
    });
    consumer.start();
    await clock.advance(10);
    const stopping = consumer.stop();
    await clock.advance(5_000);
    expect(await stopping).toEqual({ released: 1 });
    await clock.advance(10_000);
    expect(handled).toEqual(['a1']);
    expect(settled.sort()).toEqual(['a1:ack', 'a2:retry(0)']);
  });
});

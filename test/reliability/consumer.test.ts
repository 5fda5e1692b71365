import {
  ConfigurationError,
  type Consumer,
  type ConsumerOptions,
  createConsumer,
  createProducer,
  type Delivery,
  FailureReason,
  type IdempotencyStore,
  memoryIdempotencyStore,
  type Receiver,
  RetryLaterError,
  readFailureHeaders,
  UnrecoverableError,
} from 'missive';
import { ManualClock, type MemoryQueue, memoryQueue } from 'missive/memory';
import { afterEach, describe, expect, it } from 'vitest';
import { flakySender } from '../helpers/flaky-sender.ts';
import { gate } from '../helpers/gate.ts';
import { unhandledRejectionsDuring } from '../helpers/unhandled.ts';

const clock = new ManualClock();
const running: Consumer[] = [];

afterEach(async () => {
  await Promise.all(running.splice(0).map((consumer) => consumer.stop()));
});

function setup(options: Partial<ConsumerOptions<number>> = {}, queueOptions: { visibilityTimeoutMs?: number } = {}) {
  const dlq = memoryQueue({ clock });
  const queue = memoryQueue({ clock, deadLetterQueue: dlq, ...queueOptions });
  const start = (handler: ConsumerOptions<number>['handler']) => {
    const consumer = createConsumer<number>({
      transport: queue,
      clock,
      waitTimeMs: 1_000,
      retry: { maxAttempts: 3, backoff: { initialDelayMs: 100, maxDelayMs: 100, jitter: 'none' } },
      handler,
      ...options,
    });
    running.push(consumer);
    consumer.start();
    return consumer;
  };
  return {
    queue,
    dlq,
    start,
    send: (bodies: number[]) =>
      createProducer<number>({ transport: queue }).sendBatch(bodies.map((body) => ({ body }))),
  };
}

/** A receiver over `queue` whose receive is `receive` (to count, delay or fail receives). */
function receiverOf(queue: MemoryQueue, receive: Receiver['receive']): Receiver {
  return { source: queue.source, features: queue.features, receive };
}

/** A promise with its resolve function, to hold a handler open. */

describe('consumer', () => {
  it('never runs more handlers, nor holds more messages, than its concurrency', async () => {
    const { queue, send, start } = setup({ concurrency: 4, batchSize: 3 });
    await send(Array.from({ length: 50 }, (_, i) => i));
    const hold = gate();
    let active = 0;
    let peak = 0;
    const consumer = start(async () => {
      active++;
      peak = Math.max(peak, active);
      await hold.promise;
      active--;
    });
    await clock.advance(10);
    expect(active).toBe(4);
    expect(queue.counts()).toMatchObject({ inFlight: 4, visible: 46 });
    hold.open();
    await clock.advanceUntil(() => consumer.stats().acked === 50);
    expect(peak).toBe(4);
  });

  it('extends visibility while a slow handler runs, so the message is not redelivered', async () => {
    const { queue, send, start } = setup({ visibilityTimeoutMs: 1_000 }, { visibilityTimeoutMs: 1_000 });
    await send([1]);
    const hold = gate();
    const attempts: number[] = [];
    const consumer = start(async (_message, { attempt }) => {
      attempts.push(attempt);
      await hold.promise;
    });
    await clock.advance(10_000);
    expect(queue.counts().inFlight).toBe(1);
    hold.open();
    await clock.advanceUntil(() => consumer.stats().acked === 1);
    expect(attempts).toEqual([1]);
  });

  it('retries after the delay a RetryLaterError asks for', async () => {
    const { send, start } = setup();
    await send([1]);
    const seenAt: number[] = [];
    const consumer = start(() => {
      seenAt.push(clock.now());
      if (seenAt.length === 1) throw new RetryLaterError('rate limited', { delayMs: 7_000 });
    });
    await clock.advanceUntil(() => consumer.stats().acked === 1);
    expect((seenAt[1] as number) - (seenAt[0] as number)).toBeGreaterThanOrEqual(7_000);
    expect((seenAt[1] as number) - (seenAt[0] as number)).toBeLessThan(8_000);
  });

  it('survives handlers that throw synchronously or throw non-errors', async () => {
    const { dlq, send, start } = setup({ retry: { maxAttempts: 1 } });
    await send([1, 2, 3]);
    const consumer = start((message) => {
      if (message.body === 1) throw 'a string';
      if (message.body === 2) throw null;
      return 'ok';
    });
    await clock.advanceUntil(() => consumer.stats().deadLettered === 2 && consumer.stats().acked === 1);
    const dead = await dlq.receive({ maxMessages: 10, waitTimeMs: 0 });
    expect(dead.map((d) => readFailureHeaders(d.envelope.headers)?.errorMessage).sort()).toEqual(['a string', 'null']);
  });

  it('keeps polling after a failed receive, reporting the error', async () => {
    const { queue, send } = setup();
    let failuresLeft = 2;
    const flaky = receiverOf(queue, (options) =>
      failuresLeft-- > 0 ? Promise.reject(new Error('network down')) : queue.receive(options),
    );
    const errors: string[] = [];
    const handled: number[] = [];
    const consumer = createConsumer<number>({
      transport: flaky,
      clock,
      onError: (e) => errors.push(e.message),
      handler: (m) => void handled.push(m.body),
    });
    running.push(consumer);
    consumer.start();
    await send([42]);
    await clock.advanceUntil(() => handled.length === 1);
    expect(errors).toEqual(['network down', 'network down']);
  });

  it('survives an async onError callback that rejects', async () => {
    const { queue, send } = setup();
    let failuresLeft = 1;
    const flaky = receiverOf(queue, (options) =>
      failuresLeft-- > 0 ? Promise.reject(new Error('network down')) : queue.receive(options),
    );
    let called = 0;
    const handled: number[] = [];
    const consumer = createConsumer<number>({
      transport: flaky,
      clock,
      onError: async () => {
        called++;
        throw new Error('logger down');
      },
      handler: (m) => void handled.push(m.body),
    });
    running.push(consumer);
    const unhandled = await unhandledRejectionsDuring(async () => {
      consumer.start();
      await send([42]);
      await clock.advanceUntil(() => handled.length === 1);
    });
    expect(called).toBe(1);
    expect(unhandled).toEqual([]);
  });

  it('on stop, releases messages whose handlers outlive the deadline, for another worker at once', async () => {
    const { queue, send, start } = setup({ stopTimeoutMs: 5_000, concurrency: 2 });
    await send([1, 2, 3]);
    const aborted: boolean[] = [];
    const consumer = start(async (_message, { signal }) => {
      await new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve()));
      aborted.push(signal.aborted);
      throw signal.reason;
    });
    await clock.advance(10);
    const stopping = consumer.stop();
    await clock.advance(5_000);
    expect(await stopping).toEqual({ released: 2 });
    expect(aborted).toEqual([true, true]);
    expect(queue.counts()).toEqual({ visible: 3, inFlight: 0, delayed: 0 });
    const again = await queue.receive({ maxMessages: 10, waitTimeMs: 0 });
    expect(again.map((d) => d.attempt).sort()).toEqual([1, 2, 2]);
  });

  it('sends dead letters to an explicit sender, deleting the original only once that succeeded', async () => {
    const queue = memoryQueue({ clock });
    const target = memoryQueue({ clock });
    let refuse = true;
    const { sender } = flakySender(target, () => (refuse ? 'retryable' : 'pass'));
    const errors: Error[] = [];
    const consumer = createConsumer<number>({
      transport: queue,
      deadLetter: sender,
      clock,
      retry: { maxAttempts: 1, backoff: { initialDelayMs: 100, maxDelayMs: 100 } },
      onError: (error) => errors.push(error),
      handler: () => {
        throw new Error('broken');
      },
    });
    running.push(consumer);
    await createProducer({ transport: queue }).send(1);
    consumer.start();
    await clock.advanceUntil(() => errors.length === 1);
    expect(errors[0]?.message).toMatch(/Dead-letter send to .* failed .* stays on/);
    expect(target.counts().visible).toBe(0);
    expect(queue.counts().inFlight + queue.counts().delayed + queue.counts().visible).toBe(1);
    refuse = false;
    await clock.advanceUntil(() => target.counts().visible === 1);
    await clock.advance(100);
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    const [dead] = await target.receive({ maxMessages: 1, waitTimeMs: 0 });
    expect(readFailureHeaders(dead?.envelope.headers ?? {})?.reason).toBe(FailureReason.AttemptsExhausted);
  });

  it('retries a duplicate that arrives while the first is in progress, then acks it as a duplicate', async () => {
    const { send, start } = setup({
      concurrency: 2,
      idempotency: { store: memoryIdempotencyStore({ clock }), key: () => 'same-key', leaseMs: 5_000 },
    });
    await send([1, 1]);
    const hold = gate();
    let runs = 0;
    const consumer = start(async () => {
      runs++;
      await hold.promise;
    });
    await clock.advanceUntil(() => consumer.stats().retried === 1);
    hold.open();
    await clock.advanceUntil(() => consumer.stats().acked === 1 && consumer.stats().duplicates === 1);
    expect(runs).toBe(1);
  });

  it('renews the idempotency lease while a slow handler runs, so a duplicate never runs beside it', async () => {
    const { send, start } = setup({
      concurrency: 2,
      idempotency: { store: memoryIdempotencyStore({ clock }), key: () => 'same-key', leaseMs: 1_000 },
    });
    await send([1, 1]);
    let active = 0;
    let peak = 0;
    const consumer = start(async () => {
      active++;
      peak = Math.max(peak, active);
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 5_000));
      active--;
    });
    await clock.advanceUntil(() => consumer.stats().acked === 1 && consumer.stats().duplicates === 1, { stepMs: 50 });
    expect(peak).toBe(1);
  });

  it('reports a handler whose idempotency lease was lost before it finished', async () => {
    const store = memoryIdempotencyStore({ clock });
    const losing: IdempotencyStore = { ...store, renew: async () => false, complete: async () => false };
    const errors: string[] = [];
    const { send, start } = setup({
      idempotency: { store: losing, leaseMs: 1_000 },
      onError: (e) => errors.push(e.message),
    });
    await send([1]);
    const consumer = start(async () => {
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 2_000));
    });
    await clock.advanceUntil(() => consumer.stats().acked === 1, { stepMs: 50 });
    expect(errors).toContain('An idempotency lease was lost before its handler finished; see LeaseLapsedError.');
    expect(errors).toContainEqual(
      expect.stringMatching(/lease on .* lapsed before its handler finished \(leaseMs 1000\)/),
    );
  });

  it('leaves the message for redelivery when the idempotency store fails', async () => {
    const store = memoryIdempotencyStore({ clock });
    let outage = true;
    const flakyStore: IdempotencyStore = {
      ...store,
      begin: (key, options) => (outage ? Promise.reject(new Error('store unreachable')) : store.begin(key, options)),
    };
    const errors: string[] = [];
    const { send, start } = setup({ idempotency: { store: flakyStore }, onError: (e) => errors.push(e.message) });
    await send([1]);
    const handled: number[] = [];
    const consumer = start((message) => void handled.push(message.body));
    await clock.advanceUntil(() => consumer.stats().retried === 1);
    expect(handled).toEqual([]);
    outage = false;
    await clock.advanceUntil(() => handled.length === 1);
    expect(errors).toEqual([
      expect.stringMatching(/^The idempotency store failed to begin key .*: store unreachable\./),
    ]);
  });

  it('dead-letters a message whose idempotency store keeps failing, once attempts run out', async () => {
    const store = memoryIdempotencyStore({ clock });
    const broken: IdempotencyStore = { ...store, begin: () => Promise.reject(new Error('store unreachable')) };
    const errors: string[] = [];
    const { dlq, send, start } = setup({ idempotency: { store: broken }, onError: (e) => errors.push(e.message) });
    await send([1]);
    const consumer = start(() => undefined);
    await clock.advanceUntil(() => consumer.stats().deadLettered === 1);
    expect(errors).toHaveLength(3);
    for (const error of errors)
      expect(error).toMatch(/^The idempotency store failed to begin key .*: store unreachable\./);
    const [dead] = await dlq.receive({ maxMessages: 1, waitTimeMs: 0 });
    expect(readFailureHeaders(dead?.envelope.headers ?? {})).toMatchObject({
      reason: 'attempts-exhausted',
      errorName: 'IdempotencyStoreError',
      errorMessage: expect.stringMatching(/^The idempotency store failed to begin key .*: store unreachable\./),
      attempts: 3,
    });
  });

  it('keeps a message the dead-letter queue refuses, reporting why', async () => {
    const dlq = memoryQueue({ clock, maxMessageBytes: 50 });
    const queue = memoryQueue({ clock, deadLetterQueue: dlq, visibilityTimeoutMs: 1_000 });
    const errors: string[] = [];
    const consumer = createConsumer({
      transport: queue,
      clock,
      visibilityTimeoutMs: 1_000,
      onError: (e) => errors.push(e.message),
      handler: () => {
        throw new UnrecoverableError('poison');
      },
    });
    running.push(consumer);
    await createProducer({ transport: queue }).send({ padding: 'x'.repeat(100) });
    consumer.start();
    await clock.advanceUntil(() => errors.length === 2);
    expect(errors[0]).toMatch(/Dead-letter queue refused message .* exceeds the 50-byte limit.* stays on/);
    expect(consumer.stats().deadLettered).toBe(0);
    expect(queue.counts().inFlight + queue.counts().visible).toBe(1);
  });

  it('restarted while a stop is draining, finishes that stop and then runs again', async () => {
    const { send, start } = setup({ stopTimeoutMs: 1_000 });
    const handled: number[] = [];
    const consumer = start((message) => void handled.push(message.body));
    const stopping = consumer.stop();
    consumer.start();
    await clock.advance(2_000);
    expect(await stopping).toEqual({ released: 0 });
    await send([7]);
    await clock.advanceUntil(() => handled.length === 1);
    expect(handled).toEqual([7]);
  });

  it('stays stopped when stopped again while a restart waits for the first stop to drain', async () => {
    const { send, start } = setup({ stopTimeoutMs: 1_000 });
    const handled: number[] = [];
    const consumer = start((message) => void handled.push(message.body));
    const first = consumer.stop();
    consumer.start();
    const second = consumer.stop();
    await clock.advance(2_000);
    await Promise.all([first, second]);
    await send([7]);
    await clock.advance(5_000);
    expect(handled).toEqual([]);
  });

  it('after a restart, gives no slot to a handler that outlived the last stop and whose message was released', async () => {
    const { queue, send, start } = setup({ concurrency: 1, stopTimeoutMs: 1_000 });
    await send([1]);
    const handled: number[] = [];
    const consumer = start((message) => {
      handled.push(message.body);
      // The first handler ignores the stop deadline and never returns.
      if (message.body === 1) return new Promise(() => undefined);
    });
    await clock.advanceUntil(() => handled.length === 1);
    const stopping = consumer.stop();
    await clock.advance(1_000);
    expect(await stopping).toEqual({ released: 1 });
    expect(consumer.stats().inFlight).toBe(0);
    // Another worker takes the released message.
    for (const delivery of await queue.receive({ maxMessages: 10, waitTimeMs: 0 })) await delivery.ack();
    await send([2]);
    consumer.start();
    await clock.advanceUntil(() => handled.length === 2);
    expect(handled).toEqual([1, 2]);
  });

  it('survives a transport whose visibility change throws synchronously', async () => {
    const { queue, send } = setup({}, { visibilityTimeoutMs: 1_000 });
    const errors: string[] = [];
    const throwing = receiverOf(queue, async (options) =>
      (await queue.receive(options)).map((delivery) => ({
        envelope: delivery.envelope,
        attempt: delivery.attempt,
        firstReceivedAt: delivery.firstReceivedAt,
        ack: () => delivery.ack(),
        retry: (o) => delivery.retry(o),
        deadLetter: (f) => delivery.deadLetter(f),
        extendVisibility: () => {
          throw new Error('sync failure');
        },
      })),
    );
    await send([1]);
    const consumer = createConsumer<number>({
      transport: throwing,
      clock,
      visibilityTimeoutMs: 1_000,
      onError: (e) => errors.push(e.message),
      handler: () => new Promise<void>((resolve) => clock.setTimeout(resolve, 2_000)),
    });
    consumer.start();
    await clock.advanceUntil(() => consumer.stats().acked >= 1, { stepMs: 50 });
    // Redelivered copies are still running (their visibility could not be extended): drain them.
    const stopping = consumer.stop();
    await clock.advance(35_000);
    await stopping;
    expect(errors.length).toBeGreaterThan(0);
    expect(new Set(errors)).toEqual(new Set(['sync failure']));
  });

  it('receives in batches even when slow handlers free one slot at a time', async () => {
    const { queue, send } = setup();
    await send(Array.from({ length: 60 }, (_, i) => i));
    const asked: number[] = [];
    const recording = receiverOf(queue, (options) => {
      asked.push(options.maxMessages);
      return queue.receive(options);
    });
    let n = 0;
    const consumer = createConsumer<number>({
      transport: recording,
      clock,
      concurrency: 10,
      // Handlers finish one at a time, 100 ms apart.
      handler: () => new Promise<void>((resolve) => clock.setTimeout(resolve, 100 * (1 + (n++ % 10)))),
    });
    running.push(consumer);
    consumer.start();
    await clock.advanceUntil(() => consumer.stats().acked === 60, { stepMs: 50 });
    expect(Math.min(...asked)).toBeGreaterThanOrEqual(5);
  });

  it('long-polls a drained queue with one poller, and ramps the others up on a backlog', async () => {
    const { queue, send } = setup();
    let open = 0;
    let mostOpen = 0;
    const counting = receiverOf(queue, async (options) => {
      mostOpen = Math.max(mostOpen, ++open);
      try {
        return await queue.receive(options);
      } finally {
        open--;
      }
    });
    const consumer = createConsumer<number>({
      transport: counting,
      clock,
      concurrency: 50,
      waitTimeMs: 1_000,
      handler: () => new Promise<void>((resolve) => clock.setTimeout(resolve, 500)),
    });
    running.push(consumer);
    consumer.start();
    // Five pollers start; each empty receive parks all but the first.
    await clock.advance(3_000);
    mostOpen = open;
    await clock.advance(5_000);
    expect(mostOpen).toBe(1);
    // A backlog: full receives wake the parked pollers, so handlers fill the concurrency.
    await send(Array.from({ length: 200 }, (_, i) => i));
    let mostInFlight = 0;
    await clock.advanceUntil(
      () => {
        mostInFlight = Math.max(mostInFlight, consumer.stats().inFlight);
        return consumer.stats().acked === 200;
      },
      { stepMs: 10 },
    );
    expect(mostOpen).toBeGreaterThan(1);
    expect(mostInFlight).toBe(50);
    // Drained again: back to one long poll.
    await clock.advance(3_000);
    mostOpen = open;
    await clock.advance(5_000);
    expect(mostOpen).toBe(1);
  });

  it('is not fooled into waking pollers by batches that each fill one receive', async () => {
    const { queue, send } = setup();
    let empty = 0;
    const counting = receiverOf(queue, async (options) => {
      const deliveries = await queue.receive(options);
      if (deliveries.length === 0) empty++;
      return deliveries;
    });
    const consumer = createConsumer<number>({
      transport: counting,
      clock,
      concurrency: 50,
      waitTimeMs: 20_000,
      handler: () => undefined,
    });
    running.push(consumer);
    consumer.start();
    await clock.advance(10);
    const startupEmpties = empty;
    // A producer sending batches of ten every 100 ms: each batch fills one receive of the first
    // poller, yet there is never a backlog for a second poller to find.
    for (let batch = 0; batch < 100; batch++) {
      await send(Array.from({ length: 10 }, (_, i) => batch * 10 + i));
      await clock.advance(100);
    }
    await clock.advanceUntil(() => consumer.stats().acked === 1_000);
    // Each misled wake costs one empty receive, and each doubles the run of full receives needed
    // for the next: a handful in all, not one per batch.
    expect(empty - startupEmpties).toBeLessThanOrEqual(6);
  });

  it('is not made slow to wake pollers by the empty receives of its start', async () => {
    const { queue, send } = setup();
    let fruitfulShortPolls = 0;
    const counting = receiverOf(queue, async (options) => {
      const deliveries = await queue.receive(options);
      // Only the pollers beyond the first short-poll.
      if (options.waitTimeMs === 0 && deliveries.length > 0) fruitfulShortPolls++;
      return deliveries;
    });
    const consumer = createConsumer<number>({
      transport: counting,
      clock,
      concurrency: 50,
      waitTimeMs: 20_000,
      handler: () => new Promise<void>((resolve) => clock.setTimeout(resolve, 1_000)),
    });
    running.push(consumer);
    consumer.start();
    // Started on an empty queue: every extra poller's first receive comes back empty.
    await clock.advance(10);
    // Then a backlog of ten full receives: a second poller joins after two of them.
    await send(Array.from({ length: 100 }, (_, i) => i));
    await clock.advanceUntil(() => consumer.stats().acked === 100);
    expect(fruitfulShortPolls).toBeGreaterThan(0);
  });

  it('starts the next handler while an ack is still in flight, holding at most twice the concurrency', async () => {
    const { queue, send } = setup();
    await send(Array.from({ length: 30 }, (_, i) => i));
    const acks = gate();
    const slowAcks = receiverOf(queue, async (options) =>
      (await queue.receive(options)).map(
        (delivery): Delivery => ({
          envelope: delivery.envelope,
          attempt: delivery.attempt,
          firstReceivedAt: delivery.firstReceivedAt,
          ack: async () => {
            await acks.promise;
            await delivery.ack();
          },
          retry: (options) => delivery.retry(options),
          deadLetter: (failure) => delivery.deadLetter(failure),
          extendVisibility: (ms) => delivery.extendVisibility(ms),
        }),
      ),
    );
    const handled: number[] = [];
    const consumer = createConsumer<number>({
      transport: slowAcks,
      clock,
      concurrency: 5,
      batchSize: 5,
      handler: (message) => void handled.push(message.body),
    });
    running.push(consumer);
    consumer.start();
    await clock.advance(1_000);
    // Five handled with their acks pending freed their handler slots for five more; then the
    // cap on held messages (twice the concurrency) stops receiving.
    expect(handled).toHaveLength(10);
    expect(consumer.stats().inFlight).toBe(10);
    expect(queue.counts()).toMatchObject({ inFlight: 10, visible: 20 });
    acks.open();
    await clock.advanceUntil(() => consumer.stats().acked === 30);
    expect(new Set(handled).size).toBe(30);
  });

  it('caps attempts at the transport’s delivery limit, retrying a failed read of it', async () => {
    const { queue, dlq, send } = setup();
    let reads = 0;
    const limited: Receiver = {
      ...receiverOf(queue, (options) => queue.receive(options)),
      deliveryLimit: async () => {
        if (++reads === 1) throw new Error('GetQueueAttributes timed out');
        return 2;
      },
    };
    const errors: string[] = [];
    const attempts: number[] = [];
    const consumer = createConsumer<number>({
      transport: limited,
      clock,
      retry: { maxAttempts: 10, backoff: { initialDelayMs: 10, maxDelayMs: 10 } },
      onError: (e) => errors.push(e.message),
      handler: (_m, { attempt }) => {
        attempts.push(attempt);
        throw new Error('down');
      },
    });
    running.push(consumer);
    await send([1]);
    consumer.start();
    await clock.advanceUntil(() => consumer.stats().deadLettered === 1);
    expect(attempts).toEqual([1, 2]);
    expect(errors).toEqual(['GetQueueAttributes timed out']);
    expect(dlq.counts().visible).toBe(1);
  });

  it('settles a delivery once, even if settled again by hand', async () => {
    const { queue, send, start } = setup();
    await send([1]);
    let captured: Delivery | undefined;
    const realReceive = queue.receive.bind(queue);
    (queue as { receive: MemoryQueue['receive'] }).receive = async (options) => {
      const deliveries = await realReceive(options);
      captured ??= deliveries[0];
      return deliveries;
    };
    const consumer = start(() => undefined);
    await clock.advanceUntil(() => consumer.stats().acked === 1);
    await expect(captured?.ack()).resolves.toBeUndefined();
    await expect(captured?.retry({ delayMs: 0 })).resolves.toBeUndefined();
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it.each([
    [{ concurrency: 0 }, 'Invalid option concurrency: 0. Expected an integer from 1 to 10,000.'],
    [{ retry: { maxAttempts: -1 } }, 'Invalid option retry.maxAttempts: -1. Expected an integer from 1 to 1,000.'],
    [{ retry: { backoff: { jitter: 'random' } } }, /retry\.backoff\.jitter: "random"/],
    [{ handler: undefined }, /Invalid option handler: undefined/],
    [{ visibilityTimeoutMs: 43_200_001 }, /visibilityTimeoutMs: 43200001\. Expected an integer from 1 to 43,200,000/],
    [{ waitTimeMs: 0 }, 'Invalid option waitTimeMs: 0. Expected an integer of 1 or more.'],
    [{ transport: memoryQueue() }, /Invalid option deadLetter: undefined\. Expected a dead-letter destination/],
  ])('rejects invalid options %o at construction', (overrides, message) => {
    const options = {
      transport: memoryQueue({ deadLetterQueue: memoryQueue() }),
      handler: () => undefined,
      ...overrides,
    } as never;
    expect(() => createConsumer(options)).toThrow(ConfigurationError);
    expect(() => createConsumer(options)).toThrow(message);
  });
});

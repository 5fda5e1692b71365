import {
  ClosedError,
  CodecError,
  ConfigurationError,
  createProducer,
  createRetryBudget,
  InvalidMessageError,
  RetryBudgetExhaustedError,
  type Sender,
  SendFailedError,
  TransportError,
} from 'missive';
import { ManualClock, memoryQueue } from 'missive/memory';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { flakySender } from '../helpers/flaky-sender.ts';
import { unhandledRejectionsDuring } from '../helpers/unhandled.ts';

const clock = new ManualClock();

async function receivedBodies(queue: ReturnType<typeof memoryQueue>): Promise<unknown[]> {
  const deliveries = await queue.receive({ maxMessages: 100, waitTimeMs: 0 });
  return deliveries.map((d) => JSON.parse(d.envelope.body));
}

describe('producer', () => {
  it('resolves once the transport accepted the message, with its id and defaults', async () => {
    const queue = memoryQueue({ clock });
    const producer = createProducer({ transport: queue, clock });
    const { id } = await producer.send({ orderId: 1 }, { headers: { 'x-a': 'b' } });
    const [delivery] = await queue.receive({ maxMessages: 1, waitTimeMs: 0 });
    expect(delivery?.envelope).toEqual({
      id,
      body: '{"orderId":1}',
      headers: { 'x-a': 'b' },
      idempotencyKey: id,
      createdAt: clock.now(),
      groupId: undefined,
    });
  });

  it('retries retryable failures with backoff on its clock, then succeeds', async () => {
    const queue = memoryQueue({ clock });
    const { sender, calls } = flakySender(queue, (_, call) => (call < 3 ? 'retryable' : 'pass'));
    const producer = createProducer({
      transport: sender,
      clock,
      retry: { maxAttempts: 3, backoff: { initialDelayMs: 1_000 } },
    });
    let sent = false;
    const sending = producer.send('hello').then(() => {
      sent = true;
    });
    await clock.advance(0);
    expect(sent).toBe(false);
    await clock.advance(3_000);
    await sending;
    expect([...calls.values()]).toEqual([3]);
    expect(await receivedBodies(queue)).toEqual(['hello']);
  });

  it('never retries a permanent failure', async () => {
    const queue = memoryQueue({ clock });
    const { sender, calls } = flakySender(queue, () => 'permanent');
    const producer = createProducer({ transport: sender, clock });
    const error = await producer.send('x').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SendFailedError);
    expect(error).toMatchObject({ attempts: 1, retryable: false, destination: queue.name });
    expect((error as SendFailedError).cause).toBeInstanceOf(TransportError);
    expect([...calls.values()]).toEqual([1]);
  });

  it('gives up after maxAttempts with the last error as cause', async () => {
    const queue = memoryQueue({ clock });
    const { sender } = flakySender(queue, () => 'retryable');
    const producer = createProducer({
      transport: sender,
      clock,
      retry: { maxAttempts: 4, backoff: { initialDelayMs: 10 } },
    });
    const failing = producer.send('x').catch((e: unknown) => e);
    await clock.advance(10_000);
    expect(await failing).toMatchObject({ name: 'SendFailedError', attempts: 4, retryable: true });
  });

  it('retries only the failed entries of a batch and reports each outcome in order', async () => {
    const queue = memoryQueue({ clock });
    const { sender, batches } = flakySender(queue, (envelope, call) => {
      const body = JSON.parse(envelope.body) as number;
      if (body === 1 && call === 1) return 'retryable';
      if (body === 3) return 'permanent';
      return 'pass';
    });
    const producer = createProducer<number>({ transport: sender, clock, retry: { backoff: { initialDelayMs: 10 } } });
    const sending = producer.sendBatch([0, 1, 2, 3].map((body) => ({ body })));
    await clock.advance(1_000);
    const results = await sending;
    expect(results.map((r) => r.status)).toEqual(['sent', 'sent', 'sent', 'failed']);
    expect(batches.map((b) => b.length)).toEqual([4, 1]);
    expect(batches[1]).toEqual([results[1]?.id]);
    expect(((await receivedBodies(queue)) as number[]).sort()).toEqual([0, 1, 2]);
  });

  it('stops retrying once the shared retry budget is empty', async () => {
    const queue = memoryQueue({ clock });
    const { sender, calls } = flakySender(queue, () => 'retryable');
    const retryBudget = createRetryBudget({ capacity: 10, retryCost: 5 });
    const producer = createProducer({
      transport: sender,
      clock,
      retryBudget,
      retry: { maxAttempts: 10, backoff: { initialDelayMs: 1 } },
    });
    const first = producer.send('a').catch((e: unknown) => e);
    await clock.advance(1_000);
    expect(await first).toBeInstanceOf(RetryBudgetExhaustedError);
    expect([...calls.values()]).toEqual([3]);
    const second = producer.send('b').catch((e: unknown) => e);
    await clock.advance(1_000);
    expect(await second).toBeInstanceOf(RetryBudgetExhaustedError);
    expect([...calls.values()]).toEqual([3, 1]);
  });

  it('treats a transport call that throws as a failure of every envelope in it', async () => {
    let thrown = 0;
    const broken: Sender = {
      destination: 'broken',
      features: memoryQueue().features,
      send: () => {
        thrown++;
        return Promise.reject(new TransportError('broken', 'queue does not exist', false));
      },
    };
    const producer = createProducer({ transport: broken, clock });
    await expect(producer.sendBatch([{ body: 1 }, { body: 2 }])).resolves.toMatchObject([
      { status: 'failed', error: { retryable: false } },
      { status: 'failed', error: { retryable: false } },
    ]);
    expect(thrown).toBe(1);
  });

  it('stops retrying when its signal aborts, rejecting with the reason', async () => {
    const queue = memoryQueue({ clock });
    const { sender } = flakySender(queue, () => 'retryable');
    const producer = createProducer({
      transport: sender,
      clock,
      retry: { maxAttempts: 10, backoff: { initialDelayMs: 1_000 } },
    });
    const controller = new AbortController();
    const sending = producer.send('x', { signal: controller.signal }).catch((e: unknown) => e);
    await clock.advance(0);
    controller.abort(new Error('shutting down'));
    expect(await sending).toMatchObject({ message: 'shutting down' });
  });

  it('keeps what an aborted batch already sent reported as sent, failing only the rest with the reason', async () => {
    const queue = memoryQueue({ clock });
    const { sender } = flakySender(queue, (envelope) => (envelope.body === '2' ? 'retryable' : 'pass'));
    const producer = createProducer<number>({
      transport: sender,
      clock,
      retry: { maxAttempts: 5, backoff: { initialDelayMs: 1_000 } },
    });
    const controller = new AbortController();
    const sending = producer.sendBatch([{ body: 1 }, { body: 2 }, { body: 3 }], { signal: controller.signal });
    await clock.advance(0);
    controller.abort(new Error('shutting down'));
    const results = await sending;
    expect(results.map((r) => (r.status === 'failed' ? r.error.message : r.status))).toEqual([
      'sent',
      'shutting down',
      'sent',
    ]);
  });

  it('sends nothing when the signal is already aborted', async () => {
    const queue = memoryQueue({ clock });
    const producer = createProducer({ transport: queue, clock });
    await expect(producer.send('x', { signal: AbortSignal.abort(new Error('too late')) })).rejects.toThrow('too late');
    await expect(producer.sendBatch([{ body: 'y' }], { signal: AbortSignal.abort() })).rejects.toThrow();
    expect(queue.counts().visible).toBe(0);
  });

  it('validates bodies against a schema before sending', async () => {
    const queue = memoryQueue({ clock });
    const producer = createProducer({ transport: queue, schema: z.object({ orderId: z.string() }) });
    await expect(producer.send({ orderId: 5 } as never)).rejects.toThrow(InvalidMessageError);
    await expect(producer.send({ orderId: 5 } as never)).rejects.toThrow(/at orderId: .*a retry cannot help/);
    expect(queue.counts().visible).toBe(0);
  });

  it('refuses a body its codec cannot encode', async () => {
    const producer = createProducer({ transport: memoryQueue() });
    await expect(producer.send({ amount: 10n })).rejects.toThrow(CodecError);
    await expect(producer.send(undefined)).rejects.toThrow(/could not encode/);
  });

  it('in fire-and-forget mode resolves at once, reports failures, and drains on close', async () => {
    const queue = memoryQueue({ clock });
    const { sender } = flakySender(queue, (envelope, call) =>
      envelope.body === '"bad"' ? 'permanent' : call < 2 ? 'retryable' : 'pass',
    );
    const errors: string[] = [];
    const producer = createProducer({
      transport: sender,
      clock,
      mode: 'fire-and-forget',
      retry: { backoff: { initialDelayMs: 100 } },
      onError: (error, message) => errors.push(`${message.body}: ${error.name}`),
    });
    await producer.send('good');
    await producer.send('bad');
    expect(queue.counts().visible).toBe(0);
    const closing = producer.close();
    await clock.advance(1_000);
    await closing;
    expect(await receivedBodies(queue)).toEqual(['good']);
    expect(errors).toEqual(['bad: SendFailedError']);
    await expect(producer.send('late')).rejects.toThrow(ClosedError);
  });

  it('in fire-and-forget mode, gives onError an Error when a send is aborted with a reason that is not one', async () => {
    const queue = memoryQueue({ clock });
    // A transport call still waiting when the caller gives up.
    const sender: Sender = {
      destination: queue.destination,
      features: queue.features,
      send: (_, options) =>
        new Promise((_, reject) => options?.signal?.addEventListener('abort', () => reject(options.signal?.reason))),
    };
    const errors: unknown[] = [];
    const producer = createProducer({
      transport: sender,
      clock,
      mode: 'fire-and-forget',
      onError: (error) => void errors.push(error),
    });
    const abort = new AbortController();
    await producer.send('x', { signal: abort.signal });
    abort.abort('shutting down');
    await producer.close();
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(Error);
    expect((errors[0] as Error).message).toBe('shutting down');
  });

  it('in fire-and-forget mode, makes close() wait for a send still checking its body against the schema', async () => {
    const queue = memoryQueue({ clock });
    const { sender } = flakySender(queue, (_envelope, call) => (call < 2 ? 'retryable' : 'pass'));
    const producer = createProducer({
      transport: sender,
      clock,
      mode: 'fire-and-forget',
      schema: z.string(),
      retry: { backoff: { initialDelayMs: 100, jitter: 'none' } },
    });
    const sending = producer.send('x');
    let closed = false;
    const closing = producer.close().then(() => {
      closed = true;
    });
    await clock.advance(0);
    expect(closed).toBe(false);
    await clock.advance(100);
    await Promise.all([sending, closing]);
    expect(await receivedBodies(queue)).toEqual(['x']);
  });

  it.each([
    [
      'throws',
      () => {
        throw new Error('logger down');
      },
    ],
    [
      'rejects',
      async () => {
        throw new Error('logger down');
      },
    ],
  ])('survives an onError callback that %s, in fire-and-forget mode', async (_, fail) => {
    const queue = memoryQueue({ clock });
    const { sender } = flakySender(queue, () => 'permanent');
    let called = 0;
    const producer = createProducer({
      transport: sender,
      clock,
      mode: 'fire-and-forget',
      onError: () => {
        called++;
        return fail();
      },
    });
    const unhandled = await unhandledRejectionsDuring(async () => {
      await producer.send('x');
      await producer.close();
      await clock.advance(0);
    });
    expect(called).toBe(1);
    expect(unhandled).toEqual([]);
  });

  it('accepts a first delay above the default cap, raising the cap with it', () => {
    expect(() =>
      createProducer({ transport: memoryQueue(), retry: { backoff: { initialDelayMs: 10_000 } } }),
    ).not.toThrow();
  });

  it.each([
    [{ retry: { maxAttempts: 0 } }, /retry\.maxAttempts: 0\. Expected an integer from 1 to 100/],
    [{ mode: 'eventually' }, /mode: "eventually"\. Expected one of 'confirmed', 'fire-and-forget'/],
    [{ transport: undefined }, /transport: undefined\. Expected a Sender/],
  ])('rejects invalid options %o', (overrides, message) => {
    const options = { transport: memoryQueue(), ...overrides } as never;
    expect(() => createProducer(options)).toThrow(ConfigurationError);
    expect(() => createProducer(options)).toThrow(message);
  });
});

import {
  ConfigurationError,
  type Envelope,
  FailureReason,
  MessageTooLargeError,
  type OutgoingEnvelope,
  uuidv7,
} from 'missive';
import { ManualClock, memoryQueue } from 'missive/memory';
import { describe, expect, it } from 'vitest';

const clock = new ManualClock();

function envelope(body: unknown, extra: Partial<OutgoingEnvelope> = {}): OutgoingEnvelope {
  const id = uuidv7();
  return { id, body: JSON.stringify(body), headers: {}, idempotencyKey: id, createdAt: clock.now(), ...extra };
}

const failure = {
  reason: FailureReason.Unrecoverable,
  errorName: 'Error',
  errorMessage: 'no',
  attempts: 1,
  firstAttemptAt: 0,
  failedAt: 0,
  source: 'q',
};

describe('memory queue', () => {
  it('reports visible, in-flight and delayed counts', async () => {
    const queue = memoryQueue({ clock });
    await queue.send([envelope(1), envelope(2), envelope(3, { delayMs: 5_000 })]);
    expect(queue.counts()).toEqual({ visible: 2, inFlight: 0, delayed: 1 });
    await queue.receive({ maxMessages: 1, waitTimeMs: 0 });
    expect(queue.counts()).toEqual({ visible: 1, inFlight: 1, delayed: 1 });
    await clock.advance(5_000);
    expect(queue.counts()).toEqual({ visible: 2, inFlight: 1, delayed: 0 });
  });

  it('answers a long poll as soon as a message arrives', async () => {
    const queue = memoryQueue({ clock });
    let received: Envelope[] | undefined;
    const polling = queue.receive({ maxMessages: 5, waitTimeMs: 20_000 }).then((d) => {
      received = d.map((delivery) => delivery.envelope);
    });
    await new Promise((resolve) => setImmediate(resolve));
    expect(received).toBeUndefined();
    await queue.send([envelope('hello')]);
    await polling;
    expect(received?.map((e) => e.body)).toEqual(['"hello"']);
  });

  it('ends a long poll empty when the wait passes or the signal aborts', async () => {
    const queue = memoryQueue({ clock });
    const timedOut = queue.receive({ maxMessages: 1, waitTimeMs: 1_000 });
    await clock.advance(1_000);
    expect(await timedOut).toEqual([]);
    const controller = new AbortController();
    const aborted = queue.receive({ maxMessages: 1, waitTimeMs: 20_000, signal: controller.signal });
    controller.abort();
    expect(await aborted).toEqual([]);
    // The aborted waiter is gone: a later message goes to the next receive.
    await queue.send([envelope('later')]);
    expect(await queue.receive({ maxMessages: 1, waitTimeMs: 0 })).toHaveLength(1);
  });

  it('wakes a long poll when a delayed message falls due', async () => {
    const queue = memoryQueue({ clock });
    await queue.send([envelope('soon', { delayMs: 3_000 })]);
    const polling = queue.receive({ maxMessages: 1, waitTimeMs: 20_000 });
    await clock.advance(3_000);
    expect(await polling).toHaveLength(1);
  });

  it('keeps every deadline behind one timer, however many messages are in flight', async () => {
    const queue = memoryQueue({ clock, visibilityTimeoutMs: 30_000 });
    const before = clock.pendingTimers;
    await queue.send(Array.from({ length: 10_000 }, (_, i) => envelope(i, { delayMs: i % 2 ? 1_000 + i : undefined })));
    while ((await queue.receive({ maxMessages: 100, waitTimeMs: 0 })).length > 0);
    expect(queue.counts().inFlight).toBe(5_000);
    expect(clock.pendingTimers - before).toBe(1);
  });

  it('ignores settlement through a delivery that was superseded by a redelivery', async () => {
    const queue = memoryQueue({ clock, visibilityTimeoutMs: 1_000 });
    await queue.send([envelope('x')]);
    const [stale] = await queue.receive({ maxMessages: 1, waitTimeMs: 0 });
    await clock.advance(1_000);
    const [fresh] = await queue.receive({ maxMessages: 1, waitTimeMs: 0 });
    await stale?.ack();
    expect(queue.counts().inFlight).toBe(1);
    await fresh?.ack();
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('keeps a message invisible past its timeout while visibility is extended', async () => {
    const queue = memoryQueue({ clock, visibilityTimeoutMs: 1_000 });
    await queue.send([envelope('slow')]);
    const [delivery] = await queue.receive({ maxMessages: 1, waitTimeMs: 0 });
    await clock.advance(900);
    await delivery?.extendVisibility(1_000);
    await clock.advance(900);
    expect(queue.counts().inFlight).toBe(1);
    await clock.advance(100);
    expect(queue.counts().visible).toBe(1);
  });

  it('redrives a message received more than maxReceiveCount times, untouched', async () => {
    const dlq = memoryQueue({ clock });
    const queue = memoryQueue({ clock, visibilityTimeoutMs: 100, deadLetterQueue: dlq, maxReceiveCount: 2 });
    await queue.send([envelope('poison', { headers: { a: '1' } })]);
    for (let i = 0; i < 2; i++) {
      expect(await queue.receive({ maxMessages: 1, waitTimeMs: 0 })).toHaveLength(1);
      await clock.advance(100);
    }
    expect(await queue.receive({ maxMessages: 1, waitTimeMs: 0 })).toHaveLength(0);
    const [moved] = await dlq.receive({ maxMessages: 1, waitTimeMs: 0 });
    expect(moved?.envelope.headers).toEqual({ a: '1' });
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it('delivers a message normally when the dead-letter queue refuses its redrive', async () => {
    const dlq = memoryQueue({ clock, maxMessageBytes: 10 });
    const queue = memoryQueue({ clock, visibilityTimeoutMs: 100, deadLetterQueue: dlq, maxReceiveCount: 1 });
    await queue.send([envelope('too large for the dead-letter queue')]);
    await queue.receive({ maxMessages: 1, waitTimeMs: 0 });
    await clock.advance(100);
    const [again] = await queue.receive({ maxMessages: 1, waitTimeMs: 0 });
    expect(again?.attempt).toBe(2);
    expect(dlq.counts().visible).toBe(0);
  });

  it('rejects oversize messages and delays beyond 15 minutes as permanent, accepting the rest', async () => {
    const queue = memoryQueue({ clock, maxMessageBytes: 100 });
    const outcomes = await queue.send([
      envelope('x'.repeat(200)),
      envelope('ok'),
      envelope('late', { delayMs: 900_001 }),
    ]);
    expect(outcomes.map((o) => o.status)).toEqual(['permanent', 'accepted', 'permanent']);
    const [tooLarge, , tooLate] = outcomes;
    expect(tooLarge?.status === 'permanent' && tooLarge.error).toBeInstanceOf(MessageTooLargeError);
    expect(tooLate?.status === 'permanent' && tooLate.error.message).toMatch(/outside 0 to 900000 ms/);
  });

  it('refuses deadLetter without a dead-letter queue, keeping the message', async () => {
    const queue = memoryQueue({ clock, visibilityTimeoutMs: 100 });
    await queue.send([envelope('x')]);
    const [delivery] = await queue.receive({ maxMessages: 1, waitTimeMs: 0 });
    await expect(delivery?.deadLetter(failure)).rejects.toThrow(ConfigurationError);
    await clock.advance(100);
    expect(queue.counts().visible).toBe(1);
  });

  it('treats deadLetter after ack as a no-op, even without a dead-letter queue', async () => {
    const queue = memoryQueue({ clock });
    await queue.send([envelope('x')]);
    const [delivery] = await queue.receive({ maxMessages: 1, waitTimeMs: 0 });
    await delivery?.ack();
    await expect(delivery?.deadLetter(failure)).resolves.toBeUndefined();
  });

  it('deletes everything on purge, and earlier deliveries become no-ops', async () => {
    const queue = memoryQueue({ clock });
    await queue.send([envelope(1), envelope(2), envelope(3, { delayMs: 10 })]);
    const [delivery] = await queue.receive({ maxMessages: 1, waitTimeMs: 0 });
    queue.purge();
    await delivery?.retry({ delayMs: 0 });
    await clock.advance(100);
    expect(queue.counts()).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  });

  it.each([
    [{ visibilityTimeoutMs: 43_200_001 }, /visibilityTimeoutMs/],
    [{ delayMs: -5 }, /delayMs/],
    [{ maxReceiveCount: 3 }, /maxReceiveCount.*deadLetterQueue/],
    [{ fifo: true, deadLetterQueue: memoryQueue() }, /deadLetterQueue.*FIFO queue/],
  ])('rejects invalid options %o', (options, message) => {
    expect(() => memoryQueue(options)).toThrow(message);
  });

  describe('FIFO', () => {
    it('delivers one message per group at a time, in order', async () => {
      const queue = memoryQueue({ clock, fifo: true });
      await queue.send(['a1', 'a2', 'b1', 'a3', 'b2'].map((v) => envelope(v, { groupId: v[0] })));
      const first = await queue.receive({ maxMessages: 10, waitTimeMs: 0 });
      expect(first.map((d) => JSON.parse(d.envelope.body))).toEqual(['a1', 'b1']);
      await first[1]?.ack();
      const second = await queue.receive({ maxMessages: 10, waitTimeMs: 0 });
      expect(second.map((d) => JSON.parse(d.envelope.body))).toEqual(['b2']);
      await first[0]?.retry({ delayMs: 500 });
      expect(await queue.receive({ maxMessages: 10, waitTimeMs: 0 })).toHaveLength(0);
      await clock.advance(500);
      const again = await queue.receive({ maxMessages: 10, waitTimeMs: 0 });
      expect(again.map((d) => [JSON.parse(d.envelope.body), d.attempt])).toEqual([['a1', 2]]);
    });

    it('deduplicates on the idempotency key for five minutes', async () => {
      const queue = memoryQueue({ clock, fifo: true });
      const first = envelope('order', { groupId: 'g', idempotencyKey: 'order-1' });
      await queue.send([first]);
      const [again] = await queue.send([envelope('order', { groupId: 'g', idempotencyKey: 'order-1' })]);
      expect(again).toEqual({ status: 'accepted', id: first.id });
      expect(queue.counts().visible).toBe(1);
      await clock.advance(300_000);
      await queue.send([envelope('order', { groupId: 'g', idempotencyKey: 'order-1' })]);
      expect(queue.counts().visible).toBe(2);
    });

    it('requires a group and refuses per-message delays', async () => {
      const queue = memoryQueue({ clock, fifo: true });
      const [noGroup, delayed] = await queue.send([envelope('x'), envelope('y', { groupId: 'g', delayMs: 10 })]);
      expect(noGroup?.status === 'permanent' && noGroup.error.message).toMatch(/needs a groupId/);
      expect(delayed?.status === 'permanent' && delayed.error.message).toMatch(/per-message delays/);
    });
  });
});

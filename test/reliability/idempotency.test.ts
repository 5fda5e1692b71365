import { createHash } from 'node:crypto';
import {
  type BeginOptions,
  ConfigurationError,
  type Consumer,
  type ConsumerOptions,
  createConsumer,
  createProducer,
  ErrorCode,
  FailureReason,
  IdempotencyConflictError,
  type IdempotencyStore,
  isMissiveErrorCode,
  memoryIdempotencyStore,
  ResultNotCachedError,
  readFailureHeaders,
} from 'missive';
import { createWebhookReceiver, secretKey, sign } from 'missive/http';
import { ManualClock, memoryQueue } from 'missive/memory';
import { afterEach, describe, expect, it } from 'vitest';
import { idempotencyStep, resolveIdempotency } from '../../src/reliability/idempotency/step.ts';
import type { Outcome, ProcessContext } from '../../src/reliability/pipeline.ts';
import { gate } from '../helpers/gate.ts';

interface Charge {
  readonly orderId: string;
  readonly amount: number;
}

const running: Consumer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((consumer) => consumer.stop()));
});

/** A memory store that records what every begin was asked. */
function recordingStore(clock: ManualClock) {
  const store = memoryIdempotencyStore({ clock });
  const begins: { key: string; options: BeginOptions }[] = [];
  const recording: IdempotencyStore = {
    ...store,
    begin: (key, options) => {
      begins.push({ key, options });
      return store.begin(key, options);
    },
  };
  return { store: recording, begins };
}

function setup(idempotency: Partial<NonNullable<ConsumerOptions<Charge>['idempotency']>> = {}) {
  const clock = new ManualClock();
  const dlq = memoryQueue({ clock, name: 'charges-dlq' });
  const queue = memoryQueue({ clock, name: 'charges', deadLetterQueue: dlq });
  const { store, begins } = recordingStore(clock);
  const errors: Error[] = [];
  const producer = createProducer<Charge>({ transport: queue, clock });
  const send = (body: Charge, key = `charge:${body.orderId}`) => producer.send(body, { idempotencyKey: key });
  const start = (handler: ConsumerOptions<Charge>['handler'], options: Partial<ConsumerOptions<Charge>> = {}) => {
    const consumer = createConsumer<Charge>({
      transport: queue,
      clock,
      waitTimeMs: 1_000,
      retry: { maxAttempts: 3, backoff: { initialDelayMs: 100, maxDelayMs: 100, jitter: 'none' } },
      idempotency: { store, leaseMs: 10_000, ...idempotency },
      onError: (error) => errors.push(error),
      handler,
      ...options,
    });
    running.push(consumer);
    consumer.start();
    return consumer;
  };
  return { clock, queue, dlq, store, begins, errors, send, start };
}

/** A promise held open until the test decides. */

/** A context as the consumer hands it to its steps, for a message under `key` with `body` encoded. */
function contextFor(key: string, body: string): ProcessContext {
  const envelope = { id: 'm-1', body, headers: {}, idempotencyKey: key, createdAt: 0 };
  const settled = async () => undefined;
  const delivery = {
    envelope,
    attempt: 1,
    firstReceivedAt: 0,
    ack: settled,
    retry: settled,
    deadLetter: settled,
    extendVisibility: settled,
  };
  const message = { ...envelope, body: JSON.parse(body) as unknown };
  return { delivery, source: 'test', signal: new AbortController().signal, message };
}

/** The idempotency step over a memory store, reporting by throwing. */
function stepOver(clock: ManualClock) {
  const store = memoryIdempotencyStore({ clock });
  const step = idempotencyStep(resolveIdempotency({ store }), {
    clock,
    pollDelayMs: () => 100,
    report: (error) => {
      throw error;
    },
  });
  return { store, step };
}

describe('idempotency fingerprints', () => {
  it('fingerprints a message by the SHA-256 (base64url) of its body as encoded', async () => {
    const { clock, begins, send, start } = setup();
    await send({ orderId: 'o-1', amount: 42 });
    const consumer = start(() => undefined);
    await clock.advanceUntil(() => consumer.stats().acked === 1);
    const expected = createHash('sha256').update('{"orderId":"o-1","amount":42}').digest('base64url');
    expect(begins).toEqual([{ key: 'charge:o-1', options: { leaseMs: 10_000, fingerprint: expected } }]);
  });

  it('acks the same payload under the same key as a duplicate', async () => {
    const { clock, send, start } = setup();
    await send({ orderId: 'o-1', amount: 42 });
    await send({ orderId: 'o-1', amount: 42 });
    const consumer = start(() => undefined, { concurrency: 1 });
    await clock.advanceUntil(() => consumer.stats().acked + consumer.stats().duplicates === 2);
    expect(consumer.stats()).toMatchObject({ acked: 1, duplicates: 1, deadLettered: 0 });
  });

  it('dead-letters another payload under a completed key, with conflict metadata, without running the handler', async () => {
    const { clock, dlq, send, start } = setup();
    await send({ orderId: 'o-1', amount: 42 });
    await send({ orderId: 'o-1', amount: 43 });
    const handled: number[] = [];
    const consumer = start((message) => void handled.push(message.body.amount), { concurrency: 1 });
    await clock.advanceUntil(() => consumer.stats().acked + consumer.stats().deadLettered === 2);
    expect(handled).toEqual([42]);
    expect(consumer.stats()).toMatchObject({ acked: 1, deadLettered: 1, retried: 0 });
    const [dead] = await dlq.receive({ maxMessages: 1, waitTimeMs: 0 });
    expect(dead?.envelope.body).toBe('{"orderId":"o-1","amount":43}');
    const failure = readFailureHeaders(dead?.envelope.headers ?? {});
    expect(failure).toMatchObject({
      reason: FailureReason.IdempotencyConflict,
      errorName: 'IdempotencyConflictError',
      attempts: 1,
    });
    expect(failure?.errorMessage).toMatch(/^Idempotency key charge:o-1 was already used for a different payload/);
    expect(failure?.errorMessage).toContain('Use a key unique per payload');
  });

  it('dead-letters another payload under a key in progress, at once, rather than retrying it', async () => {
    const { clock, dlq, send, start } = setup();
    await send({ orderId: 'o-1', amount: 42 });
    await send({ orderId: 'o-1', amount: 43 });
    const hold = gate();
    const consumer = start(() => hold.promise, { concurrency: 2 });
    await clock.advanceUntil(() => consumer.stats().deadLettered === 1);
    expect(consumer.stats().retried).toBe(0);
    hold.open();
    await clock.advanceUntil(() => consumer.stats().acked === 1);
    const [dead] = await dlq.receive({ maxMessages: 1, waitTimeMs: 0 });
    expect(dead?.envelope.body).toBe('{"orderId":"o-1","amount":43}');
  });

  it('never conflicts with fingerprint: false, and stores no fingerprint', async () => {
    const { clock, begins, send, start } = setup({ fingerprint: false });
    await send({ orderId: 'o-1', amount: 42 });
    await send({ orderId: 'o-1', amount: 43 });
    const consumer = start(() => undefined, { concurrency: 1 });
    await clock.advanceUntil(() => consumer.stats().acked + consumer.stats().duplicates === 2);
    expect(consumer.stats()).toMatchObject({ acked: 1, duplicates: 1, deadLettered: 0 });
    expect(begins.map((begin) => begin.options)).toEqual([{ leaseMs: 10_000 }, { leaseMs: 10_000 }]);
  });

  it('fingerprints with a function of the decoded message when given one', async () => {
    const { clock, send, start } = setup({ fingerprint: (message) => String((message.body as Charge).amount) });
    await send({ orderId: 'o-1', amount: 42 });
    // Another encoding of the same amount: the same fingerprint, so a duplicate.
    await send({ amount: 42, orderId: 'o-1' });
    await send({ orderId: 'o-1', amount: 43 });
    const consumer = start(() => undefined, { concurrency: 1 });
    await clock.advanceUntil(
      () => consumer.stats().acked + consumer.stats().duplicates + consumer.stats().deadLettered === 3,
    );
    expect(consumer.stats()).toMatchObject({ acked: 1, duplicates: 1, deadLettered: 1 });
  });

  it('gives the conflict outcome an IdempotencyConflictError with both fingerprints', async () => {
    const { step } = stepOver(new ManualClock());
    const process = step(async () => ({ status: 'ack' }));
    await process(contextFor('charge:o-1', '{"amount":42}'));
    const outcome = await process(contextFor('charge:o-1', '{"amount":43}'));
    const fingerprintOf = (body: string) => createHash('sha256').update(body).digest('base64url');
    expect(outcome).toMatchObject({ status: 'dead-letter', reason: 'idempotency-conflict' });
    const error = outcome.status === 'dead-letter' ? outcome.error : undefined;
    expect(error).toBeInstanceOf(IdempotencyConflictError);
    expect(error).toMatchObject({
      code: ErrorCode.IdempotencyConflict,
      key: 'charge:o-1',
      storedFingerprint: fingerprintOf('{"amount":42}'),
      fingerprint: fingerprintOf('{"amount":43}'),
    });
  });
});

describe('idempotency results', () => {
  it('stores the handler result as JSON and gives it, decoded, to a duplicate', async () => {
    const { store, step } = stepOver(new ManualClock());
    let runs = 0;
    const process = step(async () => {
      runs++;
      return { status: 'ack', result: { receipt: 'r-1', amounts: [42, 0.5] } } satisfies Outcome;
    });
    await process(contextFor('charge:o-1', '{}'));
    expect(await store.begin('charge:o-1', { leaseMs: 1 })).toMatchObject({
      status: 'completed',
      result: '{"receipt":"r-1","amounts":[42,0.5]}',
    });
    expect(await process(contextFor('charge:o-1', '{}'))).toEqual({
      status: 'ack',
      duplicate: true,
      result: { receipt: 'r-1', amounts: [42, 0.5] },
    });
    expect(runs).toBe(1);
  });

  it('marks a key done without its result when the result is over maxResultBytes, reporting it once', async () => {
    const { clock, store, errors, send, start } = setup({ maxResultBytes: 16 });
    await send({ orderId: 'o-1', amount: 42 });
    await send({ orderId: 'o-2', amount: 42 });
    await send({ orderId: 'o-1', amount: 42 });
    // 'é' is two bytes: 8 characters, 18 bytes once quoted.
    const consumer = start(() => 'éééééééé', { concurrency: 1 });
    await clock.advanceUntil(() => consumer.stats().acked + consumer.stats().duplicates === 3);
    expect(consumer.stats()).toMatchObject({ acked: 2, duplicates: 1 });
    expect(await store.begin('charge:o-1', { leaseMs: 1 })).toEqual({ status: 'completed' });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ResultNotCachedError);
    expect(errors[0]).toMatchObject({ key: 'charge:o-1', sizeBytes: 18, limitBytes: 16 });
    expect(errors[0]?.message).toContain('is 18 bytes as JSON, over idempotency.maxResultBytes (16)');
  });

  it('keeps a result of exactly maxResultBytes', async () => {
    const { clock, store, errors, send, start } = setup({ maxResultBytes: 18 });
    await send({ orderId: 'o-1', amount: 42 });
    const consumer = start(() => 'éééééééé');
    await clock.advanceUntil(() => consumer.stats().acked === 1);
    expect(await store.begin('charge:o-1', { leaseMs: 1 })).toEqual({ status: 'completed', result: '"éééééééé"' });
    expect(errors).toEqual([]);
  });

  it('marks a key done without its result when JSON cannot encode it', async () => {
    const { clock, store, errors, send, start } = setup();
    await send({ orderId: 'o-1', amount: 42 });
    const consumer = start(() => ({ total: 10n }));
    await clock.advanceUntil(() => consumer.stats().acked === 1);
    expect(await store.begin('charge:o-1', { leaseMs: 1 })).toEqual({ status: 'completed' });
    expect(errors).toHaveLength(1);
    expect(isMissiveErrorCode(errors[0], ErrorCode.ResultNotCached)).toBe(true);
    expect(errors[0]?.message).toMatch(/could not be JSON-encoded \(.*BigInt.*\)/);
  });

  it('releases the key when complete fails, so the redelivery need not wait for the lease', async () => {
    const { clock, store, errors, send, start } = setup();
    let failures = 1;
    const flaky: IdempotencyStore = {
      ...store,
      complete: (key, token, result) =>
        failures-- > 0 ? Promise.reject(new Error('store unreachable')) : store.complete(key, token, result),
    };
    await send({ orderId: 'o-1', amount: 42 });
    const runsAt: number[] = [];
    const consumer = start(() => void runsAt.push(clock.now()), { idempotency: { store: flaky, leaseMs: 10_000 } });
    await clock.advanceUntil(() => consumer.stats().acked === 1);
    expect(runsAt).toHaveLength(2);
    // Retried after the 100 ms backoff, not after the 10 s lease.
    expect((runsAt[1] as number) - (runsAt[0] as number)).toBeLessThan(10_000);
    expect(errors.map((error) => error.message)).toEqual([
      expect.stringMatching(
        /^The idempotency store failed to complete key .*: store unreachable\. The message is retried/,
      ),
    ]);
  });
});

describe('waitForInProgress', () => {
  it('waits for a duplicate in progress elsewhere and acks it as a duplicate once that completes', async () => {
    const { clock, send, start } = setup({ waitForInProgress: { timeoutMs: 5_000 } });
    await send({ orderId: 'o-1', amount: 42 });
    await send({ orderId: 'o-1', amount: 42 });
    const hold = gate();
    let runs = 0;
    const consumer = start(
      async () => {
        runs++;
        await hold.promise;
      },
      { concurrency: 2 },
    );
    await clock.advanceUntil(() => runs === 1 && consumer.stats().received === 2);
    await clock.advance(2_000);
    expect(consumer.stats()).toMatchObject({ acked: 0, duplicates: 0, retried: 0 });
    hold.open();
    await clock.advanceUntil(() => consumer.stats().duplicates === 1, { stepMs: 10 });
    expect(consumer.stats()).toMatchObject({ acked: 1, duplicates: 1, retried: 0 });
    expect(runs).toBe(1);
  });

  it('processes the message itself when the one in progress elsewhere gives up', async () => {
    const { clock, send, start } = setup({ waitForInProgress: { timeoutMs: 5_000 } });
    await send({ orderId: 'o-1', amount: 42 });
    await send({ orderId: 'o-1', amount: 42 });
    const first = gate();
    let runs = 0;
    const consumer = start(
      async () => {
        if (++runs === 1) await first.promise;
      },
      { concurrency: 2 },
    );
    await clock.advanceUntil(() => runs === 1 && consumer.stats().received === 2);
    first.fail(new Error('payment API down'));
    // The failed one is released and retried after 100 ms; the waiting one claims the key at once.
    await clock.advanceUntil(() => runs === 2, { stepMs: 10 });
    await clock.advanceUntil(() => consumer.stats().acked === 1 && consumer.stats().duplicates === 1);
    expect(runs).toBe(2);
    expect(consumer.stats().retried).toBe(1);
  });

  it('retries later, as without waiting, once timeoutMs passes with the key still in progress', async () => {
    const { clock, send, start } = setup({ waitForInProgress: { timeoutMs: 1_000 } });
    await send({ orderId: 'o-1', amount: 42 });
    await send({ orderId: 'o-1', amount: 42 });
    const hold = gate();
    const consumer = start(() => hold.promise, { concurrency: 2 });
    await clock.advanceUntil(() => consumer.stats().received === 2);
    const startedAt = clock.now();
    await clock.advanceUntil(() => consumer.stats().retried === 1, { stepMs: 10 });
    expect(clock.now() - startedAt).toBeGreaterThanOrEqual(1_000);
    expect(clock.now() - startedAt).toBeLessThan(1_100);
    hold.open();
    await clock.advanceUntil(() => consumer.stats().acked === 1 && consumer.stats().duplicates === 1);
  });

  it('stops waiting when the consumer stops', async () => {
    const { clock, send, start } = setup({ waitForInProgress: { timeoutMs: 600_000 } });
    await send({ orderId: 'o-1', amount: 42 });
    await send({ orderId: 'o-1', amount: 42 });
    const consumer = start(
      (_, { signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason), { once: true })),
      { concurrency: 2, stopTimeoutMs: 1_000 },
    );
    await clock.advanceUntil(() => consumer.stats().received === 2);
    running.splice(0);
    const stopping = consumer.stop();
    let stopped = false;
    void stopping.then(() => {
      stopped = true;
    });
    await clock.advanceUntil(() => stopped, { stepMs: 100, limitMs: 10_000 });
    expect((await stopping).released).toBe(2);
  });
});

describe('idempotency options', () => {
  it.each([
    ['idempotency.maxResultBytes', { maxResultBytes: -1 }],
    ['idempotency.fingerprint', { fingerprint: 'sha256' }],
    ['idempotency.waitForInProgress.timeoutMs', { waitForInProgress: { timeoutMs: 0 } }],
    ['idempotency.key', { key: 'orderId' }],
    ['idempotency.leaseMs', { leaseMs: 0.5 }],
  ])('refuses an invalid %s', (option, idempotency) => {
    expect(() =>
      createConsumer({
        transport: memoryQueue({ deadLetterQueue: memoryQueue() }),
        handler: () => undefined,
        idempotency: { store: memoryIdempotencyStore(), ...(idempotency as object) },
      }),
    ).toThrow(expect.objectContaining({ option, constructor: ConfigurationError }));
  });
});

describe('webhook receiver idempotency', () => {
  const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

  const post = (receiver: ReturnType<typeof createWebhookReceiver>, clock: ManualClock, id: string, body: string) => {
    const timestampSeconds = Math.floor(clock.now() / 1000);
    const headers: Record<string, string> = {
      'webhook-id': id,
      'webhook-timestamp': String(timestampSeconds),
      'webhook-signature': sign(secretKey(SECRET), id, timestampSeconds, body),
    };
    return receiver.handle({ method: 'POST', headers: (name) => headers[name], body });
  };

  it('answers 422 idempotency-conflict to a webhook-id reused for another body, without running the handler', async () => {
    const clock = new ManualClock();
    const handled: unknown[] = [];
    const receiver = createWebhookReceiver({
      secret: SECRET,
      clock,
      handler: (message) => void handled.push(message.body),
    });
    expect((await post(receiver, clock, 'evt_1', '{"amount":42}')).status).toBe(200);
    const duplicate = await post(receiver, clock, 'evt_1', '{"amount":42}');
    expect(duplicate).toMatchObject({ status: 200, headers: { 'missive-duplicate': 'true' } });
    const conflict = await post(receiver, clock, 'evt_1', '{"amount":43}');
    expect(conflict.status).toBe(422);
    expect(JSON.parse(conflict.body)).toEqual({
      error: 'idempotency-conflict',
      message:
        'Webhook evt_1 was refused: this webhook-id was already used for a different body. Use a webhook-id unique per payload.',
    });
    expect(handled).toEqual([{ amount: 42 }]);
  });

  it('takes the consumer idempotency options: fingerprint false accepts another body as a duplicate', async () => {
    const clock = new ManualClock();
    const receiver = createWebhookReceiver({
      secret: SECRET,
      clock,
      idempotency: { fingerprint: false },
      handler: () => undefined,
    });
    expect((await post(receiver, clock, 'evt_1', '{"amount":42}')).status).toBe(200);
    const second = await post(receiver, clock, 'evt_1', '{"amount":43}');
    expect(second).toMatchObject({ status: 200, headers: { 'missive-duplicate': 'true' } });
  });

  it('waits for a request in progress with the same id, with waitForInProgress, and answers it as a duplicate', async () => {
    const clock = new ManualClock();
    const hold = gate();
    const receiver = createWebhookReceiver({
      secret: SECRET,
      clock,
      idempotency: { waitForInProgress: { timeoutMs: 5_000 } },
      handler: () => hold.promise,
    });
    const first = post(receiver, clock, 'evt_1', '{"amount":42}');
    const second = post(receiver, clock, 'evt_1', '{"amount":42}');
    await clock.advance(1_000);
    hold.open();
    await clock.advance(1_000);
    expect((await first).status).toBe(200);
    expect(await second).toMatchObject({ status: 200, headers: { 'missive-duplicate': 'true' } });
  });

  it('keeps answering 503 in-progress without waitForInProgress', async () => {
    const clock = new ManualClock();
    const hold = gate();
    const receiver = createWebhookReceiver({ secret: SECRET, clock, handler: () => hold.promise });
    const first = post(receiver, clock, 'evt_1', '{"amount":42}');
    const second = await post(receiver, clock, 'evt_1', '{"amount":42}');
    expect(second.status).toBe(503);
    expect(JSON.parse(second.body).error).toBe('in-progress');
    hold.open();
    expect((await first).status).toBe(200);
  });
});

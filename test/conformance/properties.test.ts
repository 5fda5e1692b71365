/**
 * Property-based test of the reliability layer on the in-memory transport and a manual clock:
 * over random failure schedules, crashed workers and duplicate sends, every message ends
 * handled exactly once or dead-lettered with metadata; none is lost; no message gets more
 * handler attempts than the maximum; every backoff delay lies within the backoff's bounds.
 */
import fc from 'fast-check';
import {
  createBackoff,
  createConsumer,
  createProducer,
  type Delivery,
  FailureReason,
  Jitter,
  memoryIdempotencyStore,
  type Receiver,
  RetryLaterError,
  readFailureHeaders,
  UnrecoverableError,
} from 'missive';
import { ManualClock, memoryQueue } from 'missive/memory';
import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../demo/report.ts';

type Behaviour =
  | { kind: 'ok' }
  | { kind: 'transient' }
  | { kind: 'unrecoverable' }
  | { kind: 'later'; delayMs: number };

const behaviour: fc.Arbitrary<Behaviour> = fc.oneof(
  { weight: 4, arbitrary: fc.constant({ kind: 'ok' } as const) },
  { weight: 4, arbitrary: fc.constant({ kind: 'transient' } as const) },
  { weight: 1, arbitrary: fc.constant({ kind: 'unrecoverable' } as const) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 20_000 }).map((delayMs) => ({ kind: 'later', delayMs }) as const) },
);

const scenario = fc.record({
  // Per idempotency key: what the handler does on its 1st, 2nd, ... attempt of a delivery.
  schedules: fc.array(fc.array(behaviour, { minLength: 1, maxLength: 6 }), { minLength: 1, maxLength: 25 }),
  duplicates: fc.array(fc.nat(), { maxLength: 6 }),
  crashed: fc.nat({ max: 5 }),
  maxAttempts: fc.integer({ min: 1, max: 5 }),
  concurrency: fc.integer({ min: 1, max: 8 }),
  jitter: fc.constantFrom(...Object.values(Jitter)),
  initialDelayMs: fc.integer({ min: 0, max: 2_000 }),
  maxDelayMs: fc.integer({ min: 2_000, max: 60_000 }),
  seed: fc.integer(),
});

describe('reliability properties', () => {
  it('ends every message handled exactly once or dead-lettered, losing none', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async (s) => {
        const clock = new ManualClock();
        const dlq = memoryQueue({ clock });
        const queue = memoryQueue({ clock, visibilityTimeoutMs: 30_000, deadLetterQueue: dlq });
        const backoffOptions = { initialDelayMs: s.initialDelayMs, maxDelayMs: s.maxDelayMs, jitter: s.jitter };
        const backoff = createBackoff(backoffOptions);
        const leaseMs = 10_000;

        const producer = createProducer<number>({ transport: queue, clock });
        const keys = s.schedules.map((_, key) => key);
        const sends = [...keys, ...s.duplicates.map((d) => d % keys.length)];
        const messageKey = new Map<string, number>();
        for (const key of sends) {
          const { id } = await producer.send(key, { idempotencyKey: `key-${key}` });
          messageKey.set(id, key);
        }

        // A worker that received some messages and died before settling them.
        if (s.crashed > 0) await queue.receive({ maxMessages: s.crashed, waitTimeMs: 0 });

        const invocations = new Map<string, number[]>();
        const lastBehaviour = new Map<string, Behaviour>();
        const successes = new Map<number, number>();
        const violations: string[] = [];
        const watched: Receiver = {
          source: queue.source,
          features: queue.features,
          async receive(options) {
            return (await queue.receive(options)).map((delivery) => watch(delivery));
          },
        };
        const watch = (delivery: Delivery): Delivery => ({
          ...delivery,
          envelope: delivery.envelope,
          attempt: delivery.attempt,
          firstReceivedAt: delivery.firstReceivedAt,
          ack: () => delivery.ack(),
          deadLetter: (failure) => delivery.deadLetter(failure),
          extendVisibility: (ms) => delivery.extendVisibility(ms),
          retry: ({ delayMs }) => {
            const id = delivery.envelope.id;
            const ran = invocations.get(id)?.includes(delivery.attempt);
            const last = lastBehaviour.get(id);
            if (ran && last?.kind === 'later' && delayMs !== last.delayMs)
              violations.push(`${id}: retry-later delay ${delayMs}`);
            if (ran && last?.kind === 'transient') {
              const { minMs, maxMs } = backoff.bounds(delivery.attempt);
              if (delayMs < Math.floor(minMs) || delayMs > Math.ceil(maxMs))
                violations.push(`${id}: delay ${delayMs} outside [${minMs}, ${maxMs}]`);
            }
            if (!ran && (delayMs < 1 || delayMs > leaseMs)) violations.push(`${id}: in-progress delay ${delayMs}`);
            return delivery.retry({ delayMs });
          },
        });

        const random = mulberry32(s.seed);
        const consumer = createConsumer<number>({
          transport: watched,
          clock,
          random,
          concurrency: s.concurrency,
          waitTimeMs: 5_000,
          retry: { maxAttempts: s.maxAttempts, backoff: backoffOptions },
          idempotency: { store: memoryIdempotencyStore({ clock }), leaseMs },
          onError: (error) => violations.push(`onError: ${error.message}`),
          handler: (message, { attempt }) => {
            const tried = invocations.get(message.id) ?? [];
            tried.push(attempt);
            invocations.set(message.id, tried);
            const schedule = s.schedules[message.body] as Behaviour[];
            const act = schedule[Math.min(tried.length, schedule.length) - 1] as Behaviour;
            lastBehaviour.set(message.id, act);
            if (act.kind === 'transient') throw new Error(`transient failure of key ${message.body}`);
            if (act.kind === 'unrecoverable') throw new UnrecoverableError('poison');
            if (act.kind === 'later') throw new RetryLaterError('later', { delayMs: act.delayMs });
            successes.set(message.body, (successes.get(message.body) ?? 0) + 1);
          },
        });
        consumer.start();
        const settled = () => {
          const counts = queue.counts();
          return counts.visible + counts.inFlight + counts.delayed === 0 && consumer.stats().inFlight === 0;
        };
        await clock.advanceUntil(settled, { stepMs: 1_000, limitMs: 48 * 3_600_000 });
        await consumer.stop();

        const dead = new Map<string, Delivery>();
        for (
          let batch = await dlq.receive({ maxMessages: 100, waitTimeMs: 0 });
          batch.length;
          batch = await dlq.receive({ maxMessages: 100, waitTimeMs: 0 })
        ) {
          for (const delivery of batch) dead.set(delivery.envelope.id, delivery);
        }

        expect(violations).toEqual([]);
        // No message gets more handler attempts than the maximum.
        for (const [id, tried] of invocations) expect(tried.length, id).toBeLessThanOrEqual(s.maxAttempts);
        // Every key is handled at most once; a key never handled has all its messages dead-lettered.
        for (const key of keys) {
          const handled = successes.get(key) ?? 0;
          expect(handled, `key ${key}`).toBeLessThanOrEqual(1);
          const ids = [...messageKey].filter(([, k]) => k === key).map(([id]) => id);
          if (handled === 0)
            expect(
              ids.every((id) => dead.has(id)),
              `key ${key} lost`,
            ).toBe(true);
        }
        // Dead letters carry metadata that matches what happened.
        for (const [id, delivery] of dead) {
          const failure = readFailureHeaders(delivery.envelope.headers);
          const last = lastBehaviour.get(id);
          expect(failure?.reason).toBe(
            last?.kind === 'unrecoverable' ? FailureReason.Unrecoverable : FailureReason.AttemptsExhausted,
          );
          expect(failure?.source).toBe(queue.source);
          expect(failure?.attempts).toBeGreaterThanOrEqual(invocations.get(id)?.length ?? 0);
        }
        // None lost: every message was handled, acked as a duplicate, or dead-lettered.
        const stats = consumer.stats();
        expect(stats.acked + stats.duplicates + stats.deadLettered).toBe(sends.length);
        expect(stats.acked).toBe([...successes.values()].reduce((a, b) => a + b, 0));
      }),
      { numRuns: 150 },
    );
  });
});

import { type Consumer, createConsumer, createProducer, type Receiver } from 'missive';
import { ManualClock, memoryQueue } from 'missive/memory';
import { afterEach, describe, expect, it } from 'vitest';
import { gate } from '../helpers/gate.ts';

const clock = new ManualClock();
const running: Consumer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((consumer) => consumer.stop()));
});

describe('consumer pollers and slots', () => {
  it.each([
    { name: 'pollers: 4', extra: { pollers: 4 } },
    { name: 'batchSize: 3 (four pollers by default)', extra: { batchSize: 3 } },
  ])(
    'keeps receiving when extra pollers park while the first waits on slots only they reserved ($name)',
    async ({ extra }) => {
      const queue = memoryQueue({ clock, deadLetterQueue: memoryQueue({ clock }) });
      const producer = createProducer<number>({ transport: queue });
      await producer.sendBatch([1, 2, 3].map((body) => ({ body })));
      // Short polls (the extra pollers') take a network round trip; we hold them until `network` opens.
      const network = gate();
      const latent: Receiver = {
        source: queue.source,
        features: queue.features,
        receive: async (options) => {
          if (options.waitTimeMs === 0) {
            await Promise.race([
              network.promise,
              new Promise((resolve) => options.signal?.addEventListener('abort', resolve, { once: true })),
            ]);
          }
          return queue.receive(options);
        },
      };
      const handlers = gate();
      const handled: number[] = [];
      // concurrency 10 over 4 pollers: a share of 3, a receive threshold of 2.
      const consumer = createConsumer<number>({
        transport: latent,
        clock,
        concurrency: 10,
        ...extra,
        waitTimeMs: 1_000,
        handler: async (message) => {
          await handlers.promise;
          handled.push(message.body);
        },
      });
      running.push(consumer);
      consumer.start();
      await clock.advance(10);
      handlers.open();
      await clock.advance(10);
      expect(handled).toHaveLength(3);
      // The extra pollers' short polls come back empty, and they park.
      network.open();
      await clock.advance(10);
      // A new message: the first poller should take it within one long poll.
      await producer.send(4);
      await clock.advance(5_000);
      expect(handled).toContain(4);
    },
  );
});

describe('consumer stop', () => {
  it('does not resolve stop() past its deadline while an ack is still being sent', async () => {
    const queue = memoryQueue({ clock, deadLetterQueue: memoryQueue({ clock }) });
    await createProducer<number>({ transport: queue }).send(1);
    const acks = gate();
    let acked = false;
    const slowAcks: Receiver = {
      source: queue.source,
      features: queue.features,
      receive: async (options) =>
        (await queue.receive(options)).map((delivery) => ({
          ...delivery,
          envelope: delivery.envelope,
          attempt: delivery.attempt,
          firstReceivedAt: delivery.firstReceivedAt,
          ack: async () => {
            await acks.promise;
            await delivery.ack();
            acked = true;
          },
          retry: (o) => delivery.retry(o),
          deadLetter: (f) => delivery.deadLetter(f),
          extendVisibility: (ms) => delivery.extendVisibility(ms),
        })),
    };
    const consumer = createConsumer<number>({
      transport: slowAcks,
      clock,
      waitTimeMs: 1_000,
      stopTimeoutMs: 100,
      handler: () => undefined,
    });
    consumer.start();
    await clock.advance(10);
    let stopped = false;
    const stopping = consumer.stop().then(() => {
      stopped = true;
    });
    await clock.advance(2_000);
    const stoppedBeforeAck = stopped && !acked;
    acks.open();
    await clock.advance(10);
    await stopping;
    expect(stoppedBeforeAck).toBe(false);
  });
});

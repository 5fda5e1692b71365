import { type Attributes, context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { CompositePropagator, W3CBaggagePropagator, W3CTraceContextPropagator } from '@opentelemetry/core';
import { type ReadableSpan, type Sampler, SamplingDecision, TracerProvider } from '@opentelemetry/sdk-trace';
import {
  type ConsumerOptions,
  createConsumer,
  createProducer,
  memoryIdempotencyStore,
  RetryLaterError,
  UnrecoverableError,
} from 'missive';
import { createWebhookReceiver } from 'missive/http';
import { ManualClock, memoryQueue } from 'missive/memory';
import { missiveTelemetry, semconv } from 'missive/telemetry';
import { Webhook } from 'standardwebhooks';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { consumeUntil } from '../helpers/drain.ts';
import { otelSdk } from '../helpers/otel.ts';

let sdk: ReturnType<typeof otelSdk>;
beforeEach(() => {
  sdk = otelSdk();
});
afterEach(async () => {
  await sdk.shutdown();
});

const clock = new ManualClock();
const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

async function run(
  handler: ConsumerOptions<unknown>['handler'],
  count: number,
  options: { parent?: boolean; duplicate?: boolean } = {},
) {
  const telemetry = missiveTelemetry({
    tracerProvider: sdk.tracerProvider,
    meterProvider: sdk.meterProvider,
    ...(options.parent ? { consumerContext: 'parent' as const } : {}),
  });
  const dlq = memoryQueue({ clock, name: 'orders-dlq' });
  const queue = memoryQueue({ clock, name: 'orders', deadLetterQueue: dlq });
  const producer = createProducer({ transport: queue, clock, telemetry });
  await producer.send({ orderId: 1 }, { idempotencyKey: 'order-1' });
  if (options.duplicate) await producer.send({ orderId: 1 }, { idempotencyKey: 'order-1' });
  const consumer = createConsumer({
    transport: queue,
    clock,
    telemetry,
    retry: { maxAttempts: 2, backoff: { initialDelayMs: 100, maxDelayMs: 100, jitter: 'none' } },
    ...(options.duplicate ? { idempotency: { store: memoryIdempotencyStore({ clock }) }, concurrency: 1 } : {}),
    handler,
  });
  await consumeUntil(consumer, clock, () => {
    const s = consumer.stats();
    return s.acked + s.deadLettered + s.duplicates >= count;
  });
  const spans = sdk.finishedSpans();
  return {
    send: spans.filter((s) => s.kind === SpanKind.PRODUCER),
    process: spans.filter((s) => s.kind === SpanKind.CONSUMER),
    consumer,
  };
}

const outcomeEvents = (span: ReadableSpan | undefined) =>
  (span?.events ?? []).filter((e) => e.name === semconv.EVENT_MISSIVE_SETTLE).map((e) => e.attributes);

describe('telemetry', () => {
  it('wraps a send in a PRODUCER span and carries its context in the message', async () => {
    const { send, process } = await run(() => undefined, 1);
    expect(send).toHaveLength(1);
    const [span] = send;
    expect(span?.name).toBe('send orders');
    expect(span?.attributes).toMatchObject({
      'messaging.system': 'missive_memory',
      'messaging.destination.name': 'orders',
      'messaging.operation.type': 'send',
      'messaging.operation.name': 'send',
    });
    expect(span?.attributes['messaging.message.id']).toMatch(/^[0-9a-f-]{36}$/);
    // The consumer's span links to exactly that send span.
    expect(process[0]?.links.map((l) => l.context.spanId)).toEqual([span?.spanContext().spanId]);
    expect(process[0]?.spanContext().traceId).not.toBe(span?.spanContext().traceId);
  });

  it('gives each message of a batch a PRODUCER create span, under a CLIENT send span linked to them', async () => {
    const telemetry = missiveTelemetry({ tracerProvider: sdk.tracerProvider });
    const queue = memoryQueue({ clock, name: 'orders', deadLetterQueue: memoryQueue({ clock }) });
    const sent = await createProducer({ transport: queue, clock, telemetry }).sendBatch([
      { body: { orderId: 1 } },
      { body: { orderId: 2 } },
    ]);
    const spans = sdk.finishedSpans();
    const send = spans.find((s) => s.attributes['messaging.operation.type'] === 'send');
    const creates = spans.filter((s) => s.attributes['messaging.operation.type'] === 'create');
    // The send span's context is not the messages' creation context, so the conventions make it CLIENT.
    expect(send?.kind).toBe(SpanKind.CLIENT);
    expect(send?.attributes['messaging.batch.message_count']).toBe(2);
    expect(creates.map((s) => [s.name, s.kind, s.attributes['messaging.message.id']])).toEqual(
      sent.map((result) => ['create orders', SpanKind.PRODUCER, result.id]),
    );
    expect(send?.links.map((l) => l.context.spanId)).toEqual(creates.map((s) => s.spanContext().spanId));
    // Each message carries its own create span's context.
    const received = await queue.receive({ maxMessages: 2, waitTimeMs: 0 });
    expect(received.map((d) => d.envelope.headers.traceparent?.split('-')[2])).toEqual(
      creates.map((s) => s.spanContext().spanId),
    );
  });

  it('with createSpans off, gives a batch one PRODUCER send span whose context every message carries', async () => {
    const telemetry = missiveTelemetry({ tracerProvider: sdk.tracerProvider, createSpans: false });
    const queue = memoryQueue({ clock, name: 'orders', deadLetterQueue: memoryQueue({ clock }) });
    await createProducer({ transport: queue, clock, telemetry }).sendBatch([
      { body: { orderId: 1 } },
      { body: { orderId: 2 } },
      { body: { orderId: 3 } },
    ]);
    const spans = sdk.finishedSpans();
    expect(spans.map((s) => [s.name, s.kind, s.attributes['messaging.operation.type']])).toEqual([
      ['send orders', SpanKind.PRODUCER, 'send'],
    ]);
    const [send] = spans;
    expect(send?.attributes['messaging.batch.message_count']).toBe(3);
    expect(send?.links).toEqual([]);
    const received = await queue.receive({ maxMessages: 3, waitTimeMs: 0 });
    expect(received.map((d) => d.envelope.headers.traceparent?.split('-')[2])).toEqual(
      Array(3).fill(send?.spanContext().spanId),
    );
  });

  it('wraps every delivery attempt in a CONSUMER span with settlement on it', async () => {
    let calls = 0;
    const { process } = await run(() => {
      if (++calls === 1) throw new TypeError('payment API down');
    }, 1);
    expect(process.map((s) => s.name)).toEqual(['process orders', 'process orders']);
    const [failed, succeeded] = process;
    expect(failed?.attributes).toMatchObject({
      'messaging.operation.type': 'process',
      'messaging.destination.name': 'orders',
      'missive.delivery.attempt': 1,
      'missive.outcome': 'retry',
      'error.type': 'TypeError',
    });
    expect(failed?.status).toEqual({ code: SpanStatusCode.ERROR, message: 'payment API down' });
    expect(outcomeEvents(failed)).toEqual([{ 'missive.outcome': 'retry', 'missive.retry.delay_ms': 100 }]);
    expect(succeeded?.attributes).toMatchObject({ 'missive.delivery.attempt': 2, 'missive.outcome': 'ack' });
    expect(succeeded?.status.code).toBe(SpanStatusCode.UNSET);
    expect(outcomeEvents(succeeded)).toEqual([{ 'missive.outcome': 'ack' }]);
  });

  it('records dead letters with their reason, and duplicates skipped', async () => {
    const dead = await run(() => {
      throw new UnrecoverableError('poison');
    }, 1);
    expect(outcomeEvents(dead.process[0])).toEqual([
      { 'missive.outcome': 'dead-letter', 'missive.dead_letter.reason': 'unrecoverable' },
    ]);
    await sdk.shutdown();
    sdk = otelSdk();
    const dup = await run(() => undefined, 2, { duplicate: true });
    expect(dup.process.map((s) => s.attributes['missive.outcome'])).toEqual(['ack', 'duplicate']);
  });

  it('records a RetryLaterError delay on the span', async () => {
    let calls = 0;
    const { process } = await run(() => {
      if (++calls === 1) throw new RetryLaterError('rate limited', { delayMs: 5_000 });
    }, 1);
    expect(outcomeEvents(process[0])).toEqual([{ 'missive.outcome': 'retry', 'missive.retry.delay_ms': 5_000 }]);
  });

  it('parents the process span on the producer when asked, and runs the handler inside it', async () => {
    let handlerTrace: string | undefined;
    const { send, process } = await run(
      () => {
        handlerTrace = trace.getActiveSpan()?.spanContext().spanId;
      },
      1,
      { parent: true },
    );
    expect(process[0]?.parentSpanContext?.spanId).toBe(send[0]?.spanContext().spanId);
    expect(process[0]?.spanContext().traceId).toBe(send[0]?.spanContext().traceId);
    expect(handlerTrace).toBe(process[0]?.spanContext().spanId);
  });

  it('parented on the producer, still links to the producer and to the span it ran under', async () => {
    const telemetry = missiveTelemetry({ tracerProvider: sdk.tracerProvider, consumerContext: 'parent' });
    const tracer = sdk.tracerProvider.getTracer('test');
    // The sender's span, whose context the webhook carries.
    const sendSpan = tracer.startSpan('send hooks', { kind: SpanKind.PRODUCER });
    const carrier: Record<string, string> = {};
    propagation.inject(trace.setSpan(context.active(), sendSpan), carrier);
    sendSpan.end();
    const receiver = createWebhookReceiver({ secret: SECRET, telemetry, handler: () => undefined });
    const body = '{"orderId":1}';
    const id = 'msg_parent_1';
    const now = new Date();
    const headers: Record<string, string> = {
      ...carrier,
      'webhook-id': id,
      'webhook-timestamp': String(Math.floor(now.getTime() / 1000)),
      'webhook-signature': new Webhook(SECRET).sign(id, now, body),
    };
    // An instrumented HTTP server's span is active while the receiver handles the request.
    const { response, serverSpan } = await tracer.startActiveSpan(
      'POST /hooks',
      { kind: SpanKind.SERVER },
      async (server) => {
        const answer = await receiver.handle({ method: 'POST', headers: (name) => headers[name], body });
        server.end();
        return { response: answer, serverSpan: server };
      },
    );
    expect(response.status).toBe(200);
    const process = sdk.finishedSpans().find((s) => s.kind === SpanKind.CONSUMER);
    expect(process?.parentSpanContext?.spanId).toBe(sendSpan.spanContext().spanId);
    // The conventions: with the creation context as parent, link to it, and to the ambient span.
    expect(process?.links.map((l) => l.context.spanId)).toEqual([
      sendSpan.spanContext().spanId,
      serverSpan.spanContext().spanId,
    ]);
  });

  it("starts each attempt's own trace even when the consumer was started inside a span", async () => {
    const telemetry = missiveTelemetry({ tracerProvider: sdk.tracerProvider });
    const queue = memoryQueue({ clock, name: 'orders', deadLetterQueue: memoryQueue({ clock }) });
    const consumer = createConsumer({ transport: queue, clock, telemetry, handler: () => undefined });
    // An application's startup span: the receive loop keeps the context it was started in.
    const startup = sdk.tracerProvider.getTracer('app').startActiveSpan('startup', (span) => {
      consumer.start();
      span.end();
      return span;
    });
    await createProducer({ transport: queue, clock, telemetry }).send({ orderId: 1 });
    await consumeUntil(consumer, clock, () => consumer.stats().acked === 1, { started: true });
    const process = sdk.finishedSpans().find((s) => s.kind === SpanKind.CONSUMER);
    expect(process?.parentSpanContext).toBeUndefined();
    expect(process?.spanContext().traceId).not.toBe(startup.spanContext().traceId);
  });

  it('receives and acks outside the span the consumer was started in', async () => {
    const telemetry = missiveTelemetry({ tracerProvider: sdk.tracerProvider });
    const queue = memoryQueue({ clock, name: 'orders', deadLetterQueue: memoryQueue({ clock }) });
    // The span active in each transport call, as an instrumented AWS SDK would parent its span on.
    const active: string[] = [];
    const seen = (call: string) => active.push(`${call} ${trace.getActiveSpan()?.spanContext().spanId ?? 'none'}`);
    const forwarding = <T extends object>(target: T, wrap: Partial<T>): T =>
      new Proxy(target, {
        get: (_, key) => {
          const value = key in wrap ? wrap[key as keyof T] : Reflect.get(target, key, target);
          return typeof value === 'function' && !(key in wrap) ? value.bind(target) : value;
        },
      });
    const transport = forwarding(queue, {
      receive: async (options) => {
        seen('receive');
        const deliveries = await queue.receive(options);
        return deliveries.map((delivery) =>
          forwarding(delivery, {
            ack: () => {
              seen('ack');
              return delivery.ack();
            },
          }),
        );
      },
    });
    const consumer = createConsumer({ transport, clock, telemetry, handler: () => undefined });
    sdk.tracerProvider.getTracer('app').startActiveSpan('startup', (span) => {
      consumer.start();
      span.end();
    });
    await createProducer({ transport: queue, clock, telemetry }).send({ orderId: 1 });
    await consumeUntil(consumer, clock, () => consumer.stats().acked === 1, { started: true });
    expect(active).toContain('receive none');
    expect(active).toContain('ack none');
    expect(new Set(active)).toEqual(new Set(['receive none', 'ack none']));
  });

  it.each(['link', 'parent'] as const)(
    "restores the producer's baggage around the handler (consumerContext '%s')",
    async (consumerContext) => {
      // The SDK helper registered trace context alone: trace context and baggage instead.
      propagation.disable();
      propagation.setGlobalPropagator(
        new CompositePropagator({ propagators: [new W3CTraceContextPropagator(), new W3CBaggagePropagator()] }),
      );
      const telemetry = missiveTelemetry({ tracerProvider: sdk.tracerProvider, consumerContext });
      const queue = memoryQueue({ clock, name: 'orders', deadLetterQueue: memoryQueue({ clock }) });
      const producer = createProducer({ transport: queue, clock, telemetry });
      const withBaggage = propagation.setBaggage(
        context.active(),
        propagation.createBaggage({ tenant: { value: 'acme' } }),
      );
      await context.with(withBaggage, () => producer.send({ orderId: 1 }));
      let tenant: string | undefined;
      const consumer = createConsumer({
        transport: queue,
        clock,
        telemetry,
        handler: () => {
          tenant = propagation.getActiveBaggage()?.getEntry('tenant')?.value;
        },
      });
      await consumeUntil(consumer, clock, () => consumer.stats().acked === 1);
      expect(tenant).toBe('acme');
    },
  );

  it('links to an AWS X-Ray trace header when a message has no W3C context', async () => {
    const telemetry = missiveTelemetry({ tracerProvider: sdk.tracerProvider });
    const queue = memoryQueue({ clock, deadLetterQueue: memoryQueue({ clock }) });
    await queue.send([
      {
        id: 'm-1',
        body: '{}',
        headers: { 'x-amzn-trace-id': 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1' },
        idempotencyKey: 'm-1',
        createdAt: clock.now(),
      },
    ]);
    const consumer = createConsumer({ transport: queue, clock, telemetry, handler: () => undefined });
    await consumeUntil(consumer, clock, () => consumer.stats().acked === 1);
    const [span] = sdk.finishedSpans();
    expect(span?.links[0]?.context).toMatchObject({
      traceId: '5759e988bd862e3fe1be46a994272793',
      spanId: '53995c3f42cd8ad8',
      traceFlags: 1,
    });
  });

  it.each([
    { traceparent: 'garbage' },
    { traceparent: '00-00000000000000000000000000000000-0000000000000000-01' },
    { 'x-amzn-trace-id': 'nonsense;;==;Root' },
    { 'x-amzn-trace-id': 'Root=1-00000000-000000000000000000000000;Parent=0000000000000000;Sampled=1' },
  ])('handles a message with malformed trace headers %o, linking to nothing', async (headers) => {
    const telemetry = missiveTelemetry({ tracerProvider: sdk.tracerProvider });
    const queue = memoryQueue({ clock, deadLetterQueue: memoryQueue({ clock }) });
    await queue.send([{ id: 'm-1', body: '{}', headers, idempotencyKey: 'm-1', createdAt: clock.now() }]);
    const consumer = createConsumer({ transport: queue, clock, telemetry, handler: () => undefined });
    await consumeUntil(consumer, clock, () => consumer.stats().acked === 1);
    const [span] = sdk.finishedSpans();
    expect(span?.attributes['missive.outcome']).toBe('ack');
    expect(span?.links).toEqual([]);
  });

  it('counts sent, processed, retried and dead-lettered messages, and times them', async () => {
    let calls = 0;
    await run(() => {
      if (++calls < 3) throw new Error('flaky');
    }, 1);
    expect(await sdk.metrics()).toMatchObject({
      'messaging.client.sent.messages': 1,
      'messaging.client.consumed.messages': 2,
      'missive.messages.retried': 1,
      'missive.messages.dead_lettered': 1,
      'messaging.process.duration': 2,
    });
  });

  it('gives samplers the messaging attributes when each span starts', async () => {
    const seen: { name: string; attributes: Attributes }[] = [];
    const sampler: Sampler = {
      shouldSample: (_context, _traceId, name, _kind, attributes) => {
        seen.push({ name, attributes: { ...attributes } });
        return { decision: SamplingDecision.RECORD_AND_SAMPLED };
      },
      toString: () => 'recording sampler',
    };
    const tracerProvider = new TracerProvider({ sampler });
    const telemetry = missiveTelemetry({ tracerProvider });
    const queue = memoryQueue({ clock, name: 'orders', deadLetterQueue: memoryQueue({ clock }) });
    const producer = createProducer({ transport: queue, clock, telemetry });
    await producer.send({ orderId: 1 });
    await producer.sendBatch([{ body: { orderId: 2 } }, { body: { orderId: 3 } }]);
    const consumer = createConsumer({ transport: queue, clock, telemetry, handler: () => undefined });
    await consumeUntil(consumer, clock, () => consumer.stats().acked === 3);
    await tracerProvider.shutdown();
    const expected = (operation: string) => ({
      name: `${operation} orders`,
      attributes: expect.objectContaining({
        'messaging.system': 'missive_memory',
        'messaging.destination.name': 'orders',
        'messaging.operation.type': operation,
        'messaging.operation.name': operation,
      }),
    });
    expect(seen).toEqual([
      expected('send'),
      expected('send'),
      expected('create'),
      expected('create'),
      expected('process'),
      expected('process'),
      expected('process'),
    ]);
  });

  it('never lets a failing tracer break delivery', async () => {
    const broken = {
      getTracer: () => ({
        startSpan: () => {
          throw new Error('exporter bug');
        },
        startActiveSpan: () => {
          throw new Error('exporter bug');
        },
      }),
    };
    const telemetry = missiveTelemetry({ tracerProvider: broken as never });
    const queue = memoryQueue({ clock, deadLetterQueue: memoryQueue({ clock }) });
    await createProducer({ transport: queue, telemetry }).send('still sent');
    const handled: unknown[] = [];
    const consumer = createConsumer({ transport: queue, clock, telemetry, handler: (m) => void handled.push(m.body) });
    await consumeUntil(consumer, clock, () => handled.length === 1);
    expect(handled).toEqual(['still sent']);
  });
});

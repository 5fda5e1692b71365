import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SpanKind, trace } from '@opentelemetry/api';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import { createConsumer, createProducer } from 'missive';
import { createWebhookReceiver, nodeHttpWebhookHandler, webhookTarget } from 'missive/http';
import { sqsQueue } from 'missive/sqs';
import { missiveTelemetry } from 'missive/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import { otelSdk } from '../helpers/otel.ts';
import { createSqsQueue, sqsClient, waitUntil } from '../helpers/sqs.ts';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
let sdk: ReturnType<typeof otelSdk> | undefined;
afterEach(async () => {
  await sdk?.shutdown();
});

describe('one trace across SQS and a webhook', () => {
  it('connects producer → SQS → consumer → webhook → receiver → handler, span by span', async () => {
    sdk = otelSdk();
    const telemetry = missiveTelemetry({ tracerProvider: sdk.tracerProvider, consumerContext: 'parent' });

    // The receiving service: a webhook endpoint whose handler records the span it runs in.
    let handlerSpanId: string | undefined;
    const receiver = createWebhookReceiver<{ orderId: string }>({
      secret: SECRET,
      telemetry,
      endpointName: 'billing-hooks',
      handler: () => {
        handlerSpanId = trace.getActiveSpan()?.spanContext().spanId;
      },
    });
    const server = createServer(nodeHttpWebhookHandler(receiver));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hooks`;

    // The sending service: orders go through SQS; a worker forwards each as a webhook.
    const client = sqsClient();
    const { queueUrl } = await createSqsQueue(client, { maxReceiveCount: 5, name: 'traced' });
    const orders = sqsQueue({ client, queueUrl });
    const target = webhookTarget({ url, secret: SECRET, allowAddresses: ['loopback'] /* test server */ });
    const forward = createProducer({ transport: target, telemetry });
    const worker = createConsumer<{ orderId: string }>({
      transport: orders,
      telemetry,
      waitTimeMs: 1_000,
      handler: async (message) => {
        await forward.send(message.body, { idempotencyKey: `billing-${message.body.orderId}` });
      },
    });
    worker.start();
    await createProducer({ transport: orders, telemetry }).send({ orderId: 'o-42' });
    await waitUntil(() => worker.stats().acked === 1);
    await worker.stop();
    await target.close();
    await new Promise((resolve) => server.close(resolve));

    const spans = sdk.finishedSpans();
    const find = (kind: SpanKind, destination: string): ReadableSpan => {
      const span = spans.find((s) => s.kind === kind && s.attributes['messaging.destination.name'] === destination);
      if (!span)
        throw new Error(`no ${SpanKind[kind]} span for ${destination}: ${spans.map((s) => s.name).join(', ')}`);
      return span;
    };
    // SQS spans name the queue; its URL is an attribute of its own, as the conventions ask.
    const queueName = queueUrl.slice(queueUrl.lastIndexOf('/') + 1);
    const sendToSqs = find(SpanKind.PRODUCER, queueName);
    const processSqs = find(SpanKind.CONSUMER, queueName);
    expect(sendToSqs.name).toBe(`send ${queueName}`);
    expect(processSqs.attributes['aws.sqs.queue.url']).toBe(queueUrl);
    const sendWebhook = find(SpanKind.PRODUCER, url);
    const processWebhook = find(SpanKind.CONSUMER, 'billing-hooks');

    expect(spans.every((s) => s.spanContext().traceId === sendToSqs.spanContext().traceId)).toBe(true);
    expect(sendToSqs.parentSpanContext).toBeUndefined();
    expect(processSqs.parentSpanContext?.spanId).toBe(sendToSqs.spanContext().spanId);
    expect(sendWebhook.parentSpanContext?.spanId).toBe(processSqs.spanContext().spanId);
    expect(processWebhook.parentSpanContext?.spanId).toBe(sendWebhook.spanContext().spanId);
    expect(handlerSpanId).toBe(processWebhook.spanContext().spanId);
    expect(sendToSqs.attributes['messaging.system']).toBe('aws_sqs');
    expect(processSqs.attributes).toMatchObject({
      'messaging.system': 'aws_sqs',
      'missive.outcome': 'ack',
      'missive.delivery.attempt': 1,
    });
    expect(sendWebhook.attributes['messaging.system']).toBe('webhook');
    expect(processWebhook.attributes).toMatchObject({ 'messaging.system': 'webhook', 'missive.outcome': 'ack' });
  });
});

import { CreateQueueCommand } from '@aws-sdk/client-sqs';
import { createProducer } from 'missive';
import { memoryQueue } from 'missive/memory';
import { sqsQueue } from 'missive/sqs';
import { missiveTelemetry } from 'missive/telemetry';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { otelSdk } from '../helpers/otel.ts';
import { sqsClient } from '../helpers/sqs.ts';

let sdk: ReturnType<typeof otelSdk>;
beforeEach(() => {
  sdk = otelSdk();
});
afterEach(async () => {
  await sdk.shutdown();
});

describe('telemetry metrics', () => {
  it('keeps the metric attributes of two destinations with the same name apart', async () => {
    const client = sqsClient();
    const name = `orders-${process.pid}-metrics`;
    const { QueueUrl } = await client.send(new CreateQueueCommand({ QueueName: name }));
    const telemetry = missiveTelemetry({ tracerProvider: sdk.tracerProvider, meterProvider: sdk.meterProvider });
    await createProducer({ transport: memoryQueue({ name }), telemetry }).send('to memory');
    await createProducer({ transport: sqsQueue({ client, queueUrl: QueueUrl as string }), telemetry }).send('to SQS');
    const points = await sdk.points('messaging.client.sent.messages');
    const sent = points.map((p) => [p.attributes['messaging.system'], p.attributes['aws.sqs.queue.url'], p.value]);
    expect(sent).toEqual([
      ['missive_memory', undefined, 1],
      ['aws_sqs', QueueUrl, 1],
    ]);
  });
});

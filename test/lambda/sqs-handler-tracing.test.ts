/** sqsHandler's idempotency and tracing: duplicates skipped, spans linked to the producer's or to X-Ray's trace. */
import type { Message } from '@aws-sdk/client-sqs';
import { SpanKind } from '@opentelemetry/api';
import type { SQSEvent } from 'aws-lambda';
import { createProducer, memoryIdempotencyStore } from 'missive';
import { sqsHandler } from 'missive/lambda';
import { sqsQueue } from 'missive/sqs';
import { missiveTelemetry } from 'missive/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import { otelSdk } from '../helpers/otel.ts';
import { createSqsQueue } from '../helpers/sqs.ts';
import { eventOf, queueArn, receiveAll, sendAll, toRecord } from './events.ts';
import { destroyClients, failedIds, type Job, lambdaContext, recordedClient } from './sqs-handler-fixtures.ts';

let sdk: ReturnType<typeof otelSdk> | undefined;
afterEach(async () => {
  destroyClients();
  await sdk?.shutdown();
  sdk = undefined;
});

describe('sqsHandler: idempotency and tracing', () => {
  it('skips the handler for a duplicate record and reports it successful', async () => {
    const { client } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const event = await eventOf(client, queueUrl, [{ body: { id: 'charge' } }]);
    const charged: string[] = [];
    const handler = sqsHandler<Job>((message) => void charged.push(message.body.id), {
      client,
      idempotency: { store: memoryIdempotencyStore() },
    });
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([]);
    // Delivered again (SQS is at least once): same message, another receipt.
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([]);
    expect(charged).toEqual(['charge']);
  });

  it("links each record's span to its producer's span, from the trace context in its attributes", async () => {
    sdk = otelSdk();
    const telemetry = missiveTelemetry({ tracerProvider: sdk.tracerProvider });
    const { client } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'traced' });
    await createProducer({ transport: sqsQueue({ client, queueUrl }), telemetry }).send({ id: 'traced' });
    const [message] = await receiveAll(client, queueUrl, 1);
    expect(message?.MessageAttributes?.traceparent).toBeDefined();
    const event: SQSEvent = { Records: [toRecord(message as never, await queueArn(client, queueUrl))] };
    const handler = sqsHandler<Job>(() => undefined, { client, telemetry });
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([]);
    const spans = sdk.finishedSpans();
    const send = spans.find((span) => span.kind === SpanKind.PRODUCER);
    const process = spans.find((span) => span.kind === SpanKind.CONSUMER);
    expect(process?.name).toMatch(/^process traced-/);
    expect(process?.attributes['messaging.system']).toBe('aws_sqs');
    expect(process?.links.map((link) => link.context.spanId)).toEqual([send?.spanContext().spanId]);
    expect(process?.links[0]?.context.traceId).toBe(send?.spanContext().traceId);
  });
});

describe('sqsHandler: X-Ray', () => {
  it("links a record's span to the X-Ray trace header SQS attached, when the message has no W3C context", async () => {
    sdk = otelSdk();
    const telemetry = missiveTelemetry({ tracerProvider: sdk.tracerProvider });
    const { client } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'xray' });
    const [message] = await (async () => {
      await sendAll(client, queueUrl, [{ body: { id: 'x' } }]);
      return receiveAll(client, queueUrl, 1);
    })();
    const header = 'Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1';
    const event: SQSEvent = {
      Records: [toRecord(message as Message, await queueArn(client, queueUrl), { AWSTraceHeader: header })],
    };
    await sqsHandler<Job>(() => undefined, { client, telemetry })(event, lambdaContext());
    const process = sdk.finishedSpans().find((span) => span.kind === SpanKind.CONSUMER);
    expect(process?.links.map((link) => link.context)).toMatchObject([
      { traceId: '5759e988bd862e3fe1be46a994272793', spanId: '53995c3f42cd8ad8' },
    ]);
  });
});

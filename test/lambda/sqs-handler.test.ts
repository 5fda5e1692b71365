import { CreateQueueCommand, type Message, type SQSClient } from '@aws-sdk/client-sqs';
import { SpanKind } from '@opentelemetry/api';
import type { Context, SQSBatchResponse, SQSEvent, SQSHandler } from 'aws-lambda';
import {
  ConfigurationError,
  createProducer,
  FailureReason,
  ManualClock,
  memoryIdempotencyStore,
  RetryLaterError,
  readFailureHeaders,
  UnrecoverableError,
} from 'missive';
import { sqsHandler } from 'missive/lambda';
import { sqsQueue } from 'missive/sqs';
import { missiveTelemetry } from 'missive/telemetry';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { queueUrlOfArn, recordEnvelope } from '../../src/lambda/event.ts';
import { otelSdk } from '../helpers/otel.ts';
import { injectErrors, recordCommands, type SentCommand } from '../helpers/sdk-middleware.ts';
import { createSqsQueue, sqsClient, waitUntil } from '../helpers/sqs.ts';
import { bodyOf, createEvent, eventOf, queueArn, receiveAll, sendAll, toRecord } from './events.ts';

interface Job {
  readonly id: string;
  readonly fail?: boolean;
}

const clients: SQSClient[] = [];
let sdk: ReturnType<typeof otelSdk> | undefined;
afterEach(async () => {
  for (const client of clients.splice(0)) client.destroy();
  await sdk?.shutdown();
  sdk = undefined;
});

/** A client on fauxqs, recording the commands it sends. */
function recordedClient(): { client: SQSClient; sent: SentCommand[] } {
  const client = sqsClient();
  clients.push(client);
  return { client, sent: recordCommands(client) };
}

/** A Lambda context whose remaining time is `remaining()`. */
function lambdaContext(remaining: () => number = () => 60_000): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'jobs',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:jobs',
    memoryLimitInMB: '128',
    awsRequestId: 'request-1',
    logGroupName: '/aws/lambda/jobs',
    logStreamName: 'stream',
    getRemainingTimeInMillis: remaining,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** The visibility timeouts set, in seconds, by receipt handle. */
function visibilitiesSet(sent: readonly SentCommand[]): Record<string, number> {
  const set: Record<string, number> = {};
  for (const command of sent.filter((c) => c.name === 'ChangeMessageVisibilityBatchCommand'))
    for (const entry of command.input.Entries as { ReceiptHandle: string; VisibilityTimeout: number }[])
      set[entry.ReceiptHandle] = entry.VisibilityTimeout;
  return set;
}

/** The ids in a batch response (an `SQSHandler` may also answer nothing). */
const failedIds = (response: unknown) =>
  ((response as SQSBatchResponse | undefined)?.batchItemFailures ?? []).map((failure) => failure.itemIdentifier);

const idsOf = (event: SQSEvent, pick: (body: Job) => boolean) =>
  event.Records.filter((record) => pick(bodyOf(record) as Job)).map((record) => record.messageId);

describe('sqsHandler: partial batch responses', () => {
  it('reports exactly the failed records, and sets their visibility to the backoff of their receive count', async () => {
    const { client, sent } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const jobs: Job[] = Array.from({ length: 6 }, (_, i) => ({ id: `j-${i}`, fail: i % 3 === 0 }));
    const event = await eventOf(
      client,
      queueUrl,
      jobs.map((body) => ({ body })),
    );
    // The second failing record is on its third delivery: a longer backoff.
    const third = event.Records.findIndex((record) => (bodyOf(record) as Job).id === 'j-3');
    event.Records[third] = { ...(event.Records[third] as SQSEvent['Records'][number]) };
    (event.Records[third] as { attributes: { ApproximateReceiveCount: string } }).attributes = {
      ...(event.Records[third]?.attributes as SQSEvent['Records'][number]['attributes']),
      ApproximateReceiveCount: '3',
    };
    const attempts: Record<string, number> = {};
    const handler: SQSHandler = sqsHandler<Job>(
      (message, { attempt }) => {
        attempts[message.body.id] = attempt;
        if (message.body.fail) throw new Error(`job ${message.body.id} failed`);
      },
      { client, retry: { backoff: { initialDelayMs: 2_000, jitter: 'none' } } },
    );
    const response = await handler(event, lambdaContext(), () => undefined);
    expect(failedIds(response).sort()).toEqual(idsOf(event, (job) => job.fail === true).sort());
    expect(attempts).toEqual({ 'j-0': 1, 'j-1': 1, 'j-2': 1, 'j-3': 3, 'j-4': 1, 'j-5': 1 });
    const byId = new Map(event.Records.map((record) => [(bodyOf(record) as Job).id, record.receiptHandle]));
    // 2 000 ms after the first attempt, 2 000 × 2² = 8 000 ms after the third; one batch call.
    expect(visibilitiesSet(sent)).toEqual({ [byId.get('j-0') as string]: 2, [byId.get('j-3') as string]: 8 });
    expect(sent.filter((c) => c.name === 'ChangeMessageVisibilityBatchCommand')).toHaveLength(1);
  });

  it('reports every record of a batch that fails entirely, never an empty list', async () => {
    const { client } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const event = await eventOf(
      client,
      queueUrl,
      Array.from({ length: 4 }, (_, i) => ({ body: { id: `j-${i}` } })),
    );
    const handler = sqsHandler<Job>(
      () => {
        throw new Error('database down');
      },
      { client },
    );
    const response = await handler(event, lambdaContext());
    expect(failedIds(response).sort()).toEqual(event.Records.map((record) => record.messageId).sort());
  });

  it('makes a failed record visible again after its backoff, with its real receipt handle', async () => {
    const { client } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda', visibilityTimeoutSeconds: 300 });
    const event = await eventOf(client, queueUrl, [{ body: { id: 'ok' } }, { body: { id: 'bad', fail: true } }]);
    // A zero backoff: without the visibility change the record would stay hidden for 300 s.
    const handler = sqsHandler<Job>(
      (message) => {
        if (message.body.fail) throw new Error('no');
      },
      { client, retry: { backoff: { initialDelayMs: 0 } } },
    );
    await handler(event, lambdaContext());
    const [again] = await receiveAll(client, queueUrl, 1);
    expect(JSON.parse(again?.Body as string)).toEqual({ id: 'bad', fail: true });
    expect(again?.Attributes?.ApproximateReceiveCount).toBe('2');
  });

  it('creates no SQS client when every record succeeds, and one on the first failure', async () => {
    const { client } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    let made = 0;
    const handler = sqsHandler<Job>(
      (message) => {
        if (message.body.fail) throw new Error('no');
      },
      {
        client: () => {
          made++;
          return client;
        },
      },
    );
    expect(failedIds(await handler(await eventOf(client, queueUrl, [{ body: { id: 'a' } }]), lambdaContext()))).toEqual(
      [],
    );
    expect(made).toBe(0);
    const failing = await eventOf(client, queueUrl, [
      { body: { id: 'b', fail: true } },
      { body: { id: 'c', fail: true } },
    ]);
    expect(failedIds(await handler(failing, lambdaContext()))).toHaveLength(2);
    expect(failedIds(await handler(failing, lambdaContext()))).toHaveLength(2);
    expect(made).toBe(1);
  });

  it('still reports a failed record when no SQS client can be made, and says why', async () => {
    const { client } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const event = await eventOf(client, queueUrl, [{ body: { id: 'bad', fail: true } }]);
    const errors: Error[] = [];
    const handler = sqsHandler<Job>(
      () => {
        throw new Error('no');
      },
      {
        client: () => {
          throw new Error('no credentials');
        },
        onError: (error) => errors.push(error),
      },
    );
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([event.Records[0]?.messageId]);
    expect(errors.map((error) => error.message)).toEqual([
      expect.stringMatching(
        /^ChangeMessageVisibility on https:\/\/sqs\.us-east-1\.amazonaws\.com\/\S+ failed \(Error: no credentials\)/,
      ),
    ]);
  });

  it('processes standard-queue records at most `concurrency` at once', async () => {
    const { client } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const event = await eventOf(
      client,
      queueUrl,
      Array.from({ length: 10 }, (_, i) => ({ body: { id: `j-${i}` } })),
    );
    let running = 0;
    let most = 0;
    const handler = sqsHandler<Job>(
      async () => {
        most = Math.max(most, ++running);
        await new Promise((resolve) => setImmediate(resolve));
        running--;
      },
      { client, concurrency: 3 },
    );
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([]);
    expect(most).toBe(3);
  });
});

describe('sqsHandler: records', () => {
  it("reads a record from another producer (the SQS template's own) from its SQS fields", async () => {
    const event = createEvent('aws:sqs', { Records: [{ body: '{"id":"foreign"}' } as SQSEvent['Records'][0]] });
    const seen: unknown[] = [];
    const handler = sqsHandler<Job>((message, { attempt }) => void seen.push({ ...message, attempt }));
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([]);
    expect(seen).toEqual([
      {
        id: '059f36b4-87a3-44ab-83d2-661975830a7d',
        body: { id: 'foreign' },
        headers: {},
        idempotencyKey: '059f36b4-87a3-44ab-83d2-661975830a7d',
        createdAt: 1545082649183,
        groupId: undefined,
        attempt: 1,
      },
    ]);
  });

  it('derives the queue URL from the ARN, in the standard and China partitions', () => {
    expect(queueUrlOfArn('arn:aws:sqs:eu-west-1:123456789012:orders')).toBe(
      'https://sqs.eu-west-1.amazonaws.com/123456789012/orders',
    );
    expect(queueUrlOfArn('arn:aws-cn:sqs:cn-north-1:123456789012:orders.fifo')).toBe(
      'https://sqs.cn-north-1.amazonaws.com.cn/123456789012/orders.fifo',
    );
  });

  it('changes visibility on the queue URL the queueUrl option gives, rather than one derived from the ARN', async () => {
    const { client, sent } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const event = await eventOf(client, queueUrl, [{ body: { id: 'bad', fail: true } }]);
    const arns: string[] = [];
    const handler = sqsHandler<Job>(
      () => {
        throw new Error('no');
      },
      {
        client,
        queueUrl: (arn) => {
          arns.push(arn);
          return queueUrl;
        },
      },
    );
    await handler(event, lambdaContext());
    expect(arns).toEqual([event.Records[0]?.eventSourceARN]);
    const change = sent.find((command) => command.name === 'ChangeMessageVisibilityBatchCommand');
    expect(change?.input.QueueUrl).toBe(queueUrl);
  });

  it('sets the visibility a RetryLaterError asks for', async () => {
    const { client, sent } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const event = await eventOf(client, queueUrl, [{ body: { id: 'later' } }]);
    const handler = sqsHandler<Job>(
      () => {
        throw new RetryLaterError('rate limited', { delayMs: 42_500 });
      },
      { client },
    );
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([event.Records[0]?.messageId]);
    expect(visibilitiesSet(sent)).toEqual({ [event.Records[0]?.receiptHandle as string]: 43 });
  });
});

describe('sqsHandler: FIFO queues', () => {
  it('keeps each group in order; the first failure fails the rest of its group, other groups go on', async () => {
    const { client, sent } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda', fifo: true });
    const messages = [
      { body: { id: 'a1' }, groupId: 'a' },
      { body: { id: 'b1' }, groupId: 'b' },
      { body: { id: 'a2', fail: true }, groupId: 'a' },
      { body: { id: 'b2' }, groupId: 'b' },
      { body: { id: 'a3' }, groupId: 'a' },
      { body: { id: 'b3' }, groupId: 'b' },
    ];
    // fauxqs hands out one message per group per receive (SQS hands out several, as Lambda's
    // batches show): each message travels in an SQS group of its own, and its record carries the
    // group Lambda would report.
    await sendAll(
      client,
      queueUrl,
      messages.map(({ body, groupId }) => ({ body, groupId: `${groupId}-${body.id}` })),
    );
    const received = await receiveAll(client, queueUrl, messages.length);
    const arn = await queueArn(client, queueUrl);
    const event: SQSEvent = {
      Records: messages.map(({ body, groupId }) => {
        const message = received.find((m) => (JSON.parse(m.Body as string) as Job).id === body.id);
        return toRecord(message as Message, arn, { MessageGroupId: groupId });
      }),
    };
    const handled: string[] = [];
    const handler = sqsHandler<Job>(
      async (message) => {
        handled.push(message.body.id);
        // Let the other group interleave: order must hold within each group regardless.
        await new Promise((resolve) => setImmediate(resolve));
        if (message.body.fail) throw new Error(`job ${message.body.id} failed`);
      },
      { client, retry: { backoff: { initialDelayMs: 3_000, jitter: 'none' } } },
    );
    const response = await handler(event, lambdaContext());
    const id = (name: string) => event.Records.find((r) => (bodyOf(r) as Job).id === name) as SQSEvent['Records'][0];
    expect(failedIds(response)).toEqual(
      event.Records.filter((r) => ['a2', 'a3'].includes((bodyOf(r) as Job).id)).map((r) => r.messageId),
    );
    expect(handled.filter((job) => job.startsWith('a'))).toEqual(['a1', 'a2']);
    expect(handled.filter((job) => job.startsWith('b'))).toEqual(['b1', 'b2', 'b3']);
    // The failed record backs off; the one held back behind it is released at once.
    expect(visibilitiesSet(sent)).toEqual({ [id('a2').receiptHandle]: 3, [id('a3').receiptHandle]: 0 });
  });
});

describe('sqsHandler: dead letters', () => {
  async function withDeadLetterQueue(client: SQSClient) {
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const { QueueUrl } = await client.send(
      new CreateQueueCommand({ QueueName: `lambda-dlq-${process.pid}-${Date.now()}` }),
    );
    return { queueUrl, deadLetterQueueUrl: QueueUrl as string };
  }

  it('sends unrecoverable, invalid and exhausted records to the dead-letter queue with metadata, and reports them done', async () => {
    const { client } = recordedClient();
    let senders = 0;
    const { queueUrl, deadLetterQueueUrl } = await withDeadLetterQueue(client);
    const arn = await queueArn(client, queueUrl);
    const producer = createProducer({ transport: sqsQueue({ client, queueUrl }) });
    await producer.send({ id: 'poison' }, { headers: { tenant: 'acme' } });
    await producer.send({ id: 42 });
    await producer.send({ id: 'tired' });
    await producer.send({ id: 'fine' });
    const received = await receiveAll(client, queueUrl, 4);
    const event: SQSEvent = {
      Records: received.map((message) =>
        // The tired one arrives for the third time, with maxAttempts 3.
        toRecord(message, arn, message.Body?.includes('tired') ? { ApproximateReceiveCount: '3' } : {}),
      ),
    };
    const handler = sqsHandler<{ id: string }>(
      (message) => {
        if (message.body.id === 'poison') throw new UnrecoverableError('poison pill');
        if (message.body.id === 'tired') throw new Error('still failing');
      },
      {
        client,
        schema: z.object({ id: z.string() }),
        retry: { maxAttempts: 3 },
        // Made on the first dead letter, once.
        deadLetter: () => {
          senders++;
          return sqsQueue({ client, queueUrl: deadLetterQueueUrl });
        },
      },
    );
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([]);
    expect(senders).toBe(1);
    const dead = await sqsQueue({ client, queueUrl: deadLetterQueueUrl }).receive({
      maxMessages: 10,
      waitTimeMs: 1_000,
    });
    const failures = Object.fromEntries(
      dead.map((letter) => [letter.envelope.body, readFailureHeaders(letter.envelope.headers)]),
    );
    expect(Object.keys(failures).sort()).toEqual(['{"id":"poison"}', '{"id":"tired"}', '{"id":42}']);
    expect(failures['{"id":"poison"}']).toMatchObject({
      reason: FailureReason.Unrecoverable,
      errorName: 'UnrecoverableError',
      errorMessage: 'poison pill',
      attempts: 1,
      source: queueUrl.replace(/^http:\/\/[^/]+/, 'https://sqs.us-east-1.amazonaws.com'),
    });
    expect(failures['{"id":42}']).toMatchObject({
      reason: FailureReason.InvalidBody,
      errorName: 'InvalidMessageError',
    });
    expect(failures['{"id":42}']?.issues?.map((issue) => issue.path)).toEqual([['id']]);
    expect(failures['{"id":"tired"}']).toMatchObject({ reason: FailureReason.AttemptsExhausted, attempts: 3 });
    const poison = dead.find((letter) => letter.envelope.body === '{"id":"poison"}');
    expect(poison?.envelope.headers.tenant).toBe('acme');
  });

  it('without a dead-letter queue, reports an unrecoverable record failed and leaves it to the redrive policy', async () => {
    const { client, sent } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const event = await eventOf(client, queueUrl, [{ body: { id: 'poison' } }]);
    const handler = sqsHandler<Job>(
      () => {
        throw new UnrecoverableError('poison pill');
      },
      { client },
    );
    const before = sent.length;
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([event.Records[0]?.messageId]);
    // No call at all: no visibility change, no dead-letter send.
    expect(sent.slice(before)).toEqual([]);
  });

  it('reports a record failed, with its backoff, when its dead-letter send fails', async () => {
    const { client, sent } = recordedClient();
    const { queueUrl, deadLetterQueueUrl } = await withDeadLetterQueue(client);
    const event = await eventOf(client, queueUrl, [{ body: { id: 'poison' } }]);
    injectErrors(client, (command) => (command === 'SendMessageBatchCommand' ? 'InternalError' : undefined));
    const errors: Error[] = [];
    const handler = sqsHandler<Job>(
      () => {
        throw new UnrecoverableError('poison pill');
      },
      {
        client,
        deadLetter: sqsQueue({ client, queueUrl: deadLetterQueueUrl }),
        retry: { backoff: { initialDelayMs: 4_000, jitter: 'none' } },
        onError: (error) => errors.push(error),
      },
    );
    expect(failedIds(await handler(event, lambdaContext()))).toEqual([event.Records[0]?.messageId]);
    expect(errors.map((error) => error.message)).toEqual([
      expect.stringMatching(
        new RegExp(`^Dead-letter send of message \\S+ to ${deadLetterQueueUrl} failed \\(SendMessageBatch`),
      ),
    ]);
    expect(visibilitiesSet(sent)).toEqual({ [event.Records[0]?.receiptHandle as string]: 4 });
  });
});

describe('sqsHandler: timeouts', () => {
  it('starts no record once less than timeoutMarginMs remains, and releases those left', async () => {
    const { client, sent } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const event = await eventOf(
      client,
      queueUrl,
      Array.from({ length: 5 }, (_, i) => ({ body: { id: `j-${i}` } })),
    );
    let remainingMs = 10_000;
    const handled: string[] = [];
    const handler = sqsHandler<Job>(
      (message) => {
        handled.push(message.body.id);
        // The second record's handler uses up the time: 900 ms left, under the 1 000 ms margin.
        if (handled.length === 2) remainingMs = 900;
      },
      { client, concurrency: 1, timeoutMarginMs: 1_000 },
    );
    const response = await handler(
      event,
      lambdaContext(() => remainingMs),
    );
    const notStarted = event.Records.slice(2);
    expect(handled).toEqual(event.Records.slice(0, 2).map((record) => (bodyOf(record) as Job).id));
    expect(failedIds(response)).toEqual(notStarted.map((record) => record.messageId));
    expect(visibilitiesSet(sent)).toEqual(Object.fromEntries(notStarted.map((record) => [record.receiptHandle, 0])));
  });

  it('keeps half the time back when an invocation starts with less than timeoutMarginMs, and says so once', async () => {
    const { client } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const event = await eventOf(client, queueUrl, [{ body: { id: 'a' } }, { body: { id: 'b' } }]);
    const errors: Error[] = [];
    const handled: string[] = [];
    const handler = sqsHandler<Job>((message) => void handled.push(message.body.id), {
      client,
      onError: (error) => errors.push(error),
    });
    // A 1 s function with the default 1 000 ms margin: without the fallback nothing would ever start.
    for (let i = 0; i < 2; i++)
      expect(
        failedIds(
          await handler(
            event,
            lambdaContext(() => 800),
          ),
        ),
      ).toEqual([]);
    expect(handled.sort()).toEqual(['a', 'a', 'b', 'b']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(ConfigurationError);
    expect(errors[0]?.message).toMatch(/^Invalid option timeoutMarginMs: 1000\. Expected less than the 800 ms/);
  });

  it('aborts a running handler at the margin, gives it up at half the margin, and releases its idempotency lease', async () => {
    const { client } = recordedClient();
    const { queueUrl } = await createSqsQueue(client, { name: 'lambda' });
    const event = await eventOf(client, queueUrl, [{ body: { id: 'stuck' } }, { body: { id: 'waiting' } }]);
    const clock = new ManualClock();
    const deadline = clock.now() + 10_000;
    const store = memoryIdempotencyStore({ clock });
    let aborted = false;
    let started = 0;
    const handler = sqsHandler<Job>(
      (_message, { signal }) => {
        started++;
        signal.addEventListener('abort', () => {
          aborted = true;
        });
        // Ignores the abort and never finishes.
        return new Promise(() => undefined);
      },
      { client, clock, concurrency: 1, timeoutMarginMs: 2_000, idempotency: { store } },
    );
    const response = handler(
      event,
      lambdaContext(() => deadline - clock.now()),
    );
    await waitUntil(() => started === 1);
    await clock.advance(7_999);
    expect(aborted).toBe(false);
    await clock.advance(1);
    expect(aborted).toBe(true);
    await clock.advance(1_000);
    expect(failedIds(await response).sort()).toEqual(event.Records.map((record) => record.messageId).sort());
    expect(started).toBe(1);
    // The lease was released: the next delivery may take the key at once.
    const stuck = event.Records.find((record) => record.body.includes('stuck'));
    const envelope = recordEnvelope(stuck as SQSEvent['Records'][0]);
    expect((await store.begin(envelope.idempotencyKey, { leaseMs: 1_000 })).status).toBe('new');
  });
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

describe('sqsHandler: options', () => {
  it.each([
    ['concurrency', { concurrency: 0 }],
    ['timeoutMarginMs', { timeoutMarginMs: -1 }],
    ['retry.maxAttempts', { retry: { maxAttempts: 0 } }],
    ['retry.backoff.initialDelayMs', { retry: { backoff: { initialDelayMs: 1.5 } } }],
    ['deadLetter', { deadLetter: { queueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/orders-dlq' } }],
    ['queueUrl', { queueUrl: 'orders' }],
    ['client', { client: {} }],
    ['idempotency.store', { idempotency: {} }],
  ])('rejects an invalid %s with a ConfigurationError naming it', (option, options) => {
    const attempt = () => sqsHandler(() => undefined, options as never);
    expect(attempt).toThrow(ConfigurationError);
    expect(attempt).toThrow(`Invalid option ${option}:`);
  });

  it('rejects an event that is not from an SQS event source mapping', async () => {
    const handler = sqsHandler(() => undefined);
    await expect(handler({} as never, lambdaContext())).rejects.toThrow(/an SQS event/);
    await expect(
      handler(
        { Records: [{ ...(await fakeRecord()), eventSourceARN: 'arn:aws:sns:us-east-1:1:topic' }] },
        lambdaContext(),
      ),
    ).rejects.toThrow(/eventSourceARN|SQS queue ARN/);
  });
});

async function fakeRecord(): Promise<SQSEvent['Records'][0]> {
  return toRecord({ MessageId: 'm-1', ReceiptHandle: 'r-1', Body: '{}', Attributes: {} }, 'arn:aws:sqs:us-east-1:1:q');
}

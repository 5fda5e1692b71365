import { DeleteQueueCommand, ReceiveMessageCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import {
  type Consumer,
  createConsumer,
  createProducer,
  createRetryBudget,
  FailureReason,
  MessageTooLargeError,
  RetryBudgetExhaustedError,
  readFailureHeaders,
  SendFailedError,
  type TransportError,
  UnrecoverableError,
  uuidv7,
} from 'missive';
import { sqsQueue } from 'missive/sqs';
import { afterEach, describe, expect, it } from 'vitest';
import { countByName, failBatchEntries, injectErrors, recordCommands } from '../helpers/sdk-middleware.ts';
import { createSqsQueue, pause, sqsClient, waitUntil } from '../helpers/sqs.ts';

const running: Consumer[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((consumer) => consumer.stop()));
});

function start(consumer: Consumer): Consumer {
  running.push(consumer);
  consumer.start();
  return consumer;
}

describe('sqs transport', () => {
  it('coalesces concurrent sends into batches of ten, and acks into batch deletes', async () => {
    const client = sqsClient();
    const sent = recordCommands(client);
    const { queueUrl } = await createSqsQueue(client);
    const queue = sqsQueue({ client, queueUrl });
    const producer = createProducer<number>({ transport: queue });
    await Promise.all(Array.from({ length: 25 }, (_, i) => producer.send(i)));
    expect(countByName(sent).SendMessageBatchCommand).toBe(3);
    const handled: number[] = [];
    const consumer = start(
      createConsumer<number>({ transport: queue, waitTimeMs: 1_000, handler: (m) => void handled.push(m.body) }),
    );
    await waitUntil(() => consumer.stats().acked === 25);
    await consumer.stop();
    const deletes = sent.filter((c) => c.name === 'DeleteMessageBatchCommand');
    expect(deletes.reduce((n, c) => n + (c.input.Entries as unknown[]).length, 0)).toBe(25);
    expect(deletes.length).toBeLessThanOrEqual(5);
    expect(handled.sort((a, b) => a - b)).toEqual(Array.from({ length: 25 }, (_, i) => i));
  });

  it('retries only the entries of a batch that failed', async () => {
    const client = sqsClient();
    const sent = recordCommands(client);
    let failOnce = new Set(['3', '7']);
    failBatchEntries(client, (body) => failOnce.delete(body));
    const { queueUrl } = await createSqsQueue(client);
    const producer = createProducer<number>({
      transport: sqsQueue({ client, queueUrl }),
      retry: { backoff: { initialDelayMs: 10 } },
    });
    const results = await producer.sendBatch(Array.from({ length: 10 }, (_, body) => ({ body })));
    expect(results.every((r) => r.status === 'sent')).toBe(true);
    const batches = sent
      .filter((c) => c.name === 'SendMessageBatchCommand')
      .map((c) => (c.input.Entries as { MessageBody: string }[]).map((e) => e.MessageBody));
    expect(batches).toEqual([Array.from({ length: 10 }, (_, i) => String(i)), ['3', '7']]);
    failOnce = new Set();
  });

  it('carries every header, beyond the 10-attribute limit and SQS naming rules, and the envelope fields', async () => {
    const client = sqsClient();
    const { queueUrl } = await createSqsQueue(client);
    const queue = sqsQueue({ client, queueUrl });
    const headers: Record<string, string> = {
      'AWS.reserved': 'a',
      'with space': 'b',
      empty: '',
      traceparent: '00-abc-def-01',
    };
    for (let i = 0; i < 12; i++) headers[`x-h${i}`] = `v${i}`;
    const id = uuidv7();
    await queue.send([{ id, body: '{"a":1}', headers, idempotencyKey: 'order-1', createdAt: 1_700_000_000_000 }]);
    const [delivery] = await queue.receive({ maxMessages: 1, waitTimeMs: 1_000 });
    expect(delivery?.envelope).toEqual({
      id,
      body: '{"a":1}',
      headers,
      idempotencyKey: 'order-1',
      createdAt: 1_700_000_000_000,
      groupId: undefined,
    });
    const raw = await client.send(
      new ReceiveMessageCommand({ QueueUrl: queueUrl, MessageAttributeNames: ['All'], VisibilityTimeout: 0 }),
    );
    expect(raw.Messages).toBeUndefined();
    await delivery?.ack();
  });

  it('reads messages sent by other producers, without Missive attributes', async () => {
    const client = sqsClient();
    const { queueUrl } = await createSqsQueue(client);
    const { MessageId } = await client.send(
      new SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: '{"legacy":true}',
        MessageAttributes: { source: { DataType: 'String', StringValue: 'cron' } },
      }),
    );
    const [delivery] = await sqsQueue({ client, queueUrl }).receive({ maxMessages: 1, waitTimeMs: 1_000 });
    expect(delivery?.envelope).toMatchObject({
      id: MessageId,
      idempotencyKey: MessageId,
      body: '{"legacy":true}',
      headers: { source: 'cron' },
    });
    expect(delivery?.attempt).toBe(1);
  });

  it('refuses an oversize message without calling SQS, naming the queue and the fix', async () => {
    const client = sqsClient();
    const sent = recordCommands(client);
    const { queueUrl } = await createSqsQueue(client);
    const producer = createProducer({ transport: sqsQueue({ client, queueUrl }) });
    const error = await producer.send('x'.repeat(1_048_576)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SendFailedError);
    expect((error as SendFailedError).cause).toBeInstanceOf(MessageTooLargeError);
    expect((error as Error).message).toMatch(
      new RegExp(`exceeds the 1048576-byte limit of ${queueUrl}. Store the payload elsewhere`),
    );
    expect(countByName(sent).SendMessageBatchCommand).toBeUndefined();
  });

  it('refuses delays beyond 15 minutes, and FIFO messages without a group', async () => {
    const client = sqsClient();
    const { queueUrl } = await createSqsQueue(client);
    const fifo = await createSqsQueue(client, { fifo: true });
    const [late] = await sqsQueue({ client, queueUrl }).send([
      { id: 'a', body: '1', headers: {}, idempotencyKey: 'a', createdAt: 0, delayMs: 900_001 },
    ]);
    expect(late?.status === 'permanent' && late.error.message).toMatch(/outside 0 to 900000 ms/);
    const [groupless] = await sqsQueue({ client, queueUrl: fifo.queueUrl }).send([
      { id: 'b', body: '1', headers: {}, idempotencyKey: 'b', createdAt: 0 },
    ]);
    expect(groupless?.status === 'permanent' && groupless.error.message).toMatch(/needs a MessageGroupId/);
  });

  it('deduplicates FIFO sends on the idempotency key, and takes the group from an extractor', async () => {
    const client = sqsClient();
    const { queueUrl } = await createSqsQueue(client, { fifo: true });
    const queue = sqsQueue({
      client,
      queueUrl,
      messageGroupId: (envelope) => `customer-${JSON.parse(envelope.body).customer}`,
    });
    const producer = createProducer<{ customer: number }>({ transport: queue });
    const first = await producer.send({ customer: 1 }, { idempotencyKey: 'order-9' });
    await producer.send({ customer: 1 }, { idempotencyKey: 'order-9' });
    await producer.send({ customer: 2 }, { idempotencyKey: 'x'.repeat(300) });
    const received = await queue.receive({ maxMessages: 10, waitTimeMs: 1_000 });
    expect(received.map((d) => [d.envelope.id === first.id ? 'first' : 'other', d.envelope.groupId])).toEqual([
      ['first', 'customer-1'],
      ['other', 'customer-2'],
    ]);
  });

  it('caps attempts at the redrive policy and dead-letters natively with failure metadata', async () => {
    const client = sqsClient();
    const { queueUrl, deadLetterQueueUrl } = await createSqsQueue(client, {
      maxReceiveCount: 2,
      visibilityTimeoutSeconds: 1,
    });
    const queue = sqsQueue({ client, queueUrl });
    await createProducer({ transport: queue }).send({ order: 1 });
    const attempts: number[] = [];
    const consumer = start(
      createConsumer({
        transport: queue,
        waitTimeMs: 1_000,
        visibilityTimeoutMs: 1_000,
        retry: { maxAttempts: 10, backoff: { initialDelayMs: 1, maxDelayMs: 1 } },
        handler: (_m, { attempt }) => {
          attempts.push(attempt);
          throw new Error('downstream is down');
        },
      }),
    );
    await waitUntil(() => consumer.stats().deadLettered === 1);
    expect(attempts).toEqual([1, 2]);
    const [dead] = await sqsQueue({ client, queueUrl: deadLetterQueueUrl as string }).receive({
      maxMessages: 1,
      waitTimeMs: 1_000,
    });
    expect(readFailureHeaders(dead?.envelope.headers ?? {})).toMatchObject({
      reason: FailureReason.AttemptsExhausted,
      attempts: 2,
      source: queueUrl,
      errorMessage: 'downstream is down',
    });
  });

  it('dead-letters to an explicit queue, and reports a queue with no redrive policy', async () => {
    const client = sqsClient();
    const { queueUrl } = await createSqsQueue(client);
    const target = await createSqsQueue(client, { name: 'explicit-dlq' });
    const explicit = sqsQueue({ client, queueUrl, deadLetter: { queueUrl: target.queueUrl } });
    await createProducer({ transport: explicit }).send('poison');
    const poison = () => {
      throw new UnrecoverableError('poison');
    };
    const consumer = start(createConsumer({ transport: explicit, waitTimeMs: 1_000, handler: poison }));
    await waitUntil(() => consumer.stats().deadLettered === 1);
    const [dead] = await sqsQueue({ client, queueUrl: target.queueUrl }).receive({ maxMessages: 1, waitTimeMs: 1_000 });
    expect(dead?.envelope.headers['missive-failure-reason']).toBe('unrecoverable');

    const { queueUrl: bare } = await createSqsQueue(client, { visibilityTimeoutSeconds: 1 });
    const native = sqsQueue({ client, queueUrl: bare });
    await createProducer({ transport: native }).send('poison');
    const errors: string[] = [];
    start(
      createConsumer({ transport: native, waitTimeMs: 1_000, onError: (e) => errors.push(e.message), handler: poison }),
    );
    await waitUntil(() => errors.length > 0);
    expect(errors[0]).toMatch(/has no RedrivePolicy.*pass deadLetter: \{ queueUrl \}/);
  });

  it('keeps a slow handler’s message invisible past the visibility timeout, and stops extending it once acked', async () => {
    const client = sqsClient();
    const sent = recordCommands(client);
    const { queueUrl } = await createSqsQueue(client, { visibilityTimeoutSeconds: 1 });
    const queue = sqsQueue({ client, queueUrl });
    await createProducer({ transport: queue }).send('slow');
    const attempts: number[] = [];
    const consumer = start(
      createConsumer({
        transport: queue,
        concurrency: 2,
        waitTimeMs: 1_000,
        visibilityTimeoutMs: 1_000,
        handler: async (_m, { attempt }) => {
          attempts.push(attempt);
          await pause(2_500);
        },
      }),
    );
    await waitUntil(() => consumer.stats().acked === 1, 10_000);
    await pause(600);
    await consumer.stop();
    expect(attempts).toEqual([1]);
    const names = sent.map((c) => c.name);
    const deleteAt = names.indexOf('DeleteMessageBatchCommand');
    expect(names.slice(0, deleteAt)).toContain('ChangeMessageVisibilityBatchCommand');
    expect(names.slice(deleteAt)).not.toContain('ChangeMessageVisibilityBatchCommand');
  });

  it('on stop, releases unfinished messages for another worker, once the cut-short poll has closed', async () => {
    const client = sqsClient();
    const { queueUrl } = await createSqsQueue(client, { visibilityTimeoutSeconds: 30 });
    const queue = sqsQueue({ client, queueUrl });
    await createProducer<number>({ transport: queue }).sendBatch([{ body: 1 }, { body: 2 }]);
    let started = 0;
    const consumer = start(
      createConsumer({
        transport: queue,
        waitTimeMs: 1_000,
        stopTimeoutMs: 200,
        handler: async (_m, { signal }) => {
          started++;
          await new Promise((resolve) => signal.addEventListener('abort', resolve));
          throw signal.reason;
        },
      }),
    );
    await waitUntil(() => started === 2);
    expect(await consumer.stop()).toEqual({ released: 2 });
    const again = await queue.receive({ maxMessages: 10, waitTimeMs: 1_000 });
    expect(again.map((d) => d.attempt).sort()).toEqual([2, 2]);
  });

  it('retries throttled sends within the retry budget, then gives up with a typed error', async () => {
    const client = sqsClient();
    let throttled = 2;
    injectErrors(client, (command) =>
      command === 'SendMessageBatchCommand' && throttled-- > 0 ? 'ThrottlingException' : undefined,
    );
    const { queueUrl } = await createSqsQueue(client);
    const queue = sqsQueue({ client, queueUrl });
    const retryBudget = createRetryBudget({ capacity: 15, retryCost: 5 });
    const producer = createProducer({
      transport: queue,
      retryBudget,
      retry: { maxAttempts: 10, backoff: { initialDelayMs: 5 } },
    });
    await producer.send('through');
    expect(retryBudget.available).toBe(6);
    throttled = 100;
    const error = await producer.send('refused').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryBudgetExhaustedError);
    expect(((error as Error).cause as Error).message).toMatch(/failed transiently \(SQS ThrottlingException/);
  });

  it('surfaces a deleted queue as a typed, permanent error naming the queue', async () => {
    const client = sqsClient();
    const { queueUrl } = await createSqsQueue(client);
    await client.send(new DeleteQueueCommand({ QueueUrl: queueUrl }));
    const queue = sqsQueue({ client, queueUrl });
    const error = await createProducer({ transport: queue })
      .send('x')
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'SendFailedError', attempts: 1, retryable: false });
    const cause = (error as SendFailedError).cause as TransportError;
    expect(cause.message).toBe(
      `Queue ${queueUrl} does not exist (SQS QueueDoesNotExist). Create it, or check the queue URL and the client's region.`,
    );
    await expect(queue.receive({ maxMessages: 1, waitTimeMs: 0 })).rejects.toMatchObject({
      retryable: false,
      destination: queueUrl,
    });
  });

  it('reports an expired receipt handle instead of failing, leaving the message for redelivery', async () => {
    const client = sqsClient();
    const { queueUrl } = await createSqsQueue(client, { visibilityTimeoutSeconds: 1 });
    const queue = sqsQueue({ client, queueUrl });
    await createProducer({ transport: queue }).send('x');
    const [stale] = await queue.receive({ maxMessages: 1, waitTimeMs: 1_000 });
    await pause(1_100);
    const [fresh] = await queue.receive({ maxMessages: 1, waitTimeMs: 1_000 });
    await expect(stale?.extendVisibility(5_000)).rejects.toThrow(/receipt handle expired .* will be delivered again/);
    expect(fresh?.attempt).toBe(2);
    await fresh?.ack();
  });
});

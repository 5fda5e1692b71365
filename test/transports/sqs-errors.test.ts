import { createProducer, type SendFailedError } from 'missive';
import { sqsQueue } from 'missive/sqs';
import { describe, expect, it } from 'vitest';
import { isRetryable, toTransportError } from '../../src/transports/sqs/classify.ts';
import { injectErrors } from '../helpers/sdk-middleware.ts';
import { createSqsQueue, sqsClient } from '../helpers/sqs.ts';

const url = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders';

describe('SQS error classification', () => {
  it.each([
    [{ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }, true],
    [{ name: 'RequestThrottled', $metadata: { httpStatusCode: 403 } }, true],
    [{ name: 'AWS.SimpleQueueService.InternalError', $fault: 'server', $metadata: { httpStatusCode: 500 } }, true],
    [{ name: 'ServiceUnavailable', $metadata: { httpStatusCode: 503 } }, true],
    [{ name: 'TimeoutError', code: 'ECONNRESET' }, true],
    [{ name: 'Error', code: 'ECONNREFUSED' }, true],
    [{ name: 'QueueDoesNotExist', $metadata: { httpStatusCode: 400 } }, false],
    [{ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }, false],
    [{ name: 'AWS.SimpleQueueService.InvalidParameterValue', $metadata: { httpStatusCode: 400 } }, false],
    [{ name: 'InvalidMessageContents', $metadata: { httpStatusCode: 400 } }, false],
  ])('classifies %o as retryable: %s', (error, retryable) => {
    expect(isRetryable(error)).toBe(retryable);
    expect(toTransportError(error, url, 'SendMessageBatch').retryable).toBe(retryable);
  });

  it('names the queue, the code and the fix', () => {
    expect(
      toTransportError({ name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }, url, 'SendMessageBatch').message,
    ).toBe(
      `Access to queue ${url} was denied for SendMessageBatch (SQS AccessDenied). Grant the caller's role sqs:SendMessage on the queue (and kms:Decrypt / kms:GenerateDataKey for an encrypted queue), or check its credentials.`,
    );
    expect(
      toTransportError(
        {
          name: 'AWS.SimpleQueueService.InvalidParameterValue',
          message: 'bad value',
          $metadata: { httpStatusCode: 400 },
        },
        url,
        'SendMessageBatch',
      ).message,
    ).toBe(
      `SendMessageBatch on ${url} was rejected (SQS InvalidParameterValue: bad value). Fix the request; retrying cannot help.`,
    );
  });

  it('turns access denied from the real SDK into a permanent send failure without retrying', async () => {
    const client = sqsClient();
    let calls = 0;
    injectErrors(client, (command) =>
      command === 'SendMessageBatchCommand' && ++calls > 0 ? 'AccessDenied' : undefined,
    );
    const { queueUrl } = await createSqsQueue(client);
    const error = (await createProducer({ transport: sqsQueue({ client, queueUrl }) })
      .send('x')
      .catch((e: unknown) => e)) as SendFailedError;
    expect(error).toMatchObject({ name: 'SendFailedError', retryable: false, attempts: 1 });
    expect((error.cause as Error).message).toMatch(/was denied for SendMessageBatch \(SQS AccessDenied\)/);
    expect(calls).toBe(1);
  });
});

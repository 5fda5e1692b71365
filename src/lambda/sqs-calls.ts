/**
 * The SQS call a Lambda handler makes itself: visibility changes for failed records. The AWS SDK
 * is imported, and the client created, on the first call, never at module load: a batch that
 * succeeds loads no SDK at all. That is also why this does not go through `SqsQueue`: its module
 * imports the SDK's commands statically, and a bundler hoists that import to the top of the
 * bundle, into every cold start.
 *
 * @module
 */
import type { SQSClient } from '@aws-sdk/client-sqs';
import { TransportError } from '../errors.ts';
import { MAX_BATCH_ENTRIES, MAX_VISIBILITY_MS } from '../transports/sqs-limits.ts';
import { mapConcurrently } from './concurrently.ts';

/** An `SQSClient`, or a function that makes one when it is first needed. */
export type SqsClientSource = SQSClient | (() => SQSClient | Promise<SQSClient>);

/** One visibility change: the record's receipt handle, and its new timeout in milliseconds. */
export interface VisibilityChange {
  readonly receiptHandle: string;
  readonly timeoutMs: number;
}

const MAX_VISIBILITY_SECONDS = MAX_VISIBILITY_MS / 1000;

let sdk: Promise<typeof import('@aws-sdk/client-sqs')> | undefined;
const loadSdk = () => {
  sdk ??= import('@aws-sdk/client-sqs').catch((error: unknown) => {
    sdk = undefined;
    throw error;
  });
  return sdk;
};

/** Visibility changes on a client obtained once, when the first one is needed. */
export class LambdaSqs {
  readonly #source: SqsClientSource | undefined;
  #client: Promise<SQSClient> | undefined;

  constructor(source: SqsClientSource | undefined) {
    this.#source = source;
  }

  /**
   * The client: the one given, made by the function given, or a default one in `region` with the
   * SDK's default credentials and retries.
   */
  #clientFor(region: string | undefined): Promise<SQSClient> {
    this.#client ??= (async () => {
      const source = this.#source;
      if (typeof source === 'function') return source();
      if (source) return source;
      const { SQSClient } = await loadSdk();
      // The queue URL is derived from the ARN, so the client's own endpoint (the region's, or
      // AWS_ENDPOINT_URL_SQS for a VPC endpoint) must win over the URL's host.
      return new SQSClient({ ...(region ? { region } : {}), useQueueUrlAsEndpoint: false });
    })().catch((error: unknown) => {
      this.#client = undefined;
      throw error;
    });
    return this.#client;
  }

  /**
   * Sets the visibility timeout of each entry, in `ChangeMessageVisibilityBatch` calls of ten,
   * at most 16 in flight. Resolves one error (or undefined) per entry, in order; never rejects.
   */
  async changeVisibility(
    queueUrl: string,
    region: string | undefined,
    changes: readonly VisibilityChange[],
  ): Promise<(Error | undefined)[]> {
    if (changes.length === 0) return [];
    let client: SQSClient;
    let command: typeof import('@aws-sdk/client-sqs').ChangeMessageVisibilityBatchCommand;
    try {
      [client, { ChangeMessageVisibilityBatchCommand: command }] = await Promise.all([
        this.#clientFor(region),
        loadSdk(),
      ]);
    } catch (error) {
      // No client: @aws-sdk/client-sqs is not installed, or the function given threw.
      const failure = sdkFailure(error, queueUrl, 'ChangeMessageVisibility');
      return changes.map(() => failure);
    }
    const chunks: VisibilityChange[][] = [];
    for (let i = 0; i < changes.length; i += MAX_BATCH_ENTRIES) chunks.push(changes.slice(i, i + MAX_BATCH_ENTRIES));
    const results = await mapConcurrently(
      chunks,
      MAX_CALLS_IN_FLIGHT,
      async (chunk): Promise<(Error | undefined)[]> => {
        try {
          const output = await client.send(
            new command({
              QueueUrl: queueUrl,
              Entries: chunk.map(({ receiptHandle, timeoutMs }, index) => ({
                Id: String(index),
                ReceiptHandle: receiptHandle,
                VisibilityTimeout: Math.min(MAX_VISIBILITY_SECONDS, Math.max(0, Math.ceil(timeoutMs / 1000))),
              })),
            }),
          );
          const errors: (Error | undefined)[] = chunk.map(() => undefined);
          for (const entry of output.Failed ?? []) {
            errors[Number(entry.Id)] = new TransportError(
              queueUrl,
              `ChangeMessageVisibilityBatch on ${queueUrl} failed for one record (SQS ${entry.Code}: ${entry.Message ?? 'no detail'}); it comes back after the queue's visibility timeout instead.`,
              entry.SenderFault !== true,
            );
          }
          return errors;
        } catch (error) {
          const failure = sdkFailure(error, queueUrl, 'ChangeMessageVisibility');
          return chunk.map(() => failure);
        }
      },
    );
    return results.flat();
  }
}

/**
 * An AWS SDK error as a {@link TransportError} naming the queue and the action. Lighter than the
 * SQS transport's classification, which a Lambda handler does not need: it never retries these
 * calls itself (the SDK client does), the record just comes back later.
 */
function sdkFailure(error: unknown, queueUrl: string, action: string): TransportError {
  const {
    name = 'Error',
    message = String(error),
    $metadata,
  } = (error ?? {}) as {
    name?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const status = $metadata?.httpStatusCode;
  const retryable = status === undefined || status === 429 || status >= 500 || /throttl/i.test(name);
  return new TransportError(
    queueUrl,
    `${action} on ${queueUrl} failed (${name}: ${message}); the record is reported failed and delivered again. ` +
      (retryable ? 'It looked transient.' : `Check that the function's role allows sqs:${action} on the queue.`),
    retryable,
    error,
  );
}

/** Most `ChangeMessageVisibilityBatch` calls in flight at once: a 10,000-record batch makes 1,000. */
const MAX_CALLS_IN_FLIGHT = 16;

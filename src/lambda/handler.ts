import { type Clock, systemClock } from '../clock.ts';
import { type Codec, jsonCodec } from '../codec.ts';
import { ConfigurationError, callErrorCallback, toError } from '../errors.ts';
import { functionOption, integerOption } from '../options.ts';
import { type BackoffOptions, createBackoff } from '../reliability/backoff.ts';
import type { Handler } from '../reliability/consumer.ts';
import { decodeStep } from '../reliability/decode.ts';
import { type IdempotencyOptions, resolveIdempotency } from '../reliability/idempotency/step.ts';
import type { Instrumentation } from '../reliability/instrumentation.ts';
import { retryStep } from '../reliability/retry.ts';
import type { StandardSchemaV1 } from '../schema.ts';
import type { Sender } from '../transports/contract.ts';
import { type BatchSetup, type BatchSource, processBatch } from './batch.ts';
import { type LambdaContext, queueUrlOfArn, regionOfArn, type SqsBatchResponse, type SqsEvent } from './event.ts';
import { LambdaSqs, type SqsClientSource } from './sqs-calls.ts';

/** Options of {@link sqsHandler}. Durations are in milliseconds. */
export interface SqsHandlerOptions<Body> {
  /**
   * The `SQSClient` for visibility changes and dead-letter sends, or a function that makes one.
   * Default: one created in the queue's region on the first call that needs it; a batch that
   * succeeds loads no AWS SDK at all.
   */
  readonly client?: SqsClientSource;
  /**
   * The queue URL, or a function of the records' `eventSourceARN`. Default derived from the ARN
   * (`https://sqs.<region>.amazonaws.com/<account>/<name>`).
   */
  readonly queueUrl?: string | ((eventSourceArn: string) => string);
  /**
   * Most records processed at once. Default 10; 1 to 10 000. On a FIFO queue, the most message
   * groups processed at once: each group's records run one after another, in order.
   */
  readonly concurrency?: number;
  /**
   * Time kept back at the end of an invocation, in milliseconds. Default 1 000; 0 to 900 000.
   * Once less than this remains, no record starts (those left are reported failed, visible
   * again at once) and running handlers' `signal` aborts; at half of it, handlers still running
   * are given up (reported failed, their idempotency leases released), and at a quarter of it
   * the batch answers with whatever is still unsettled (a hung store call or dead-letter send)
   * reported failed, leaving that quarter for the visibility changes and the response. An invocation that starts with less time than
   * this keeps half of its time back instead, and `onError` is told once.
   */
  readonly timeoutMarginMs?: number;
  /** Retries of failed records. */
  readonly retry?: {
    /**
     * Receives per message, the first included, before it is dead-lettered. Default 5; 1 to 1 000.
     * Keep it at most the queue's redrive `maxReceiveCount`, or the redrive moves the message first.
     */
    readonly maxAttempts?: number;
    /**
     * Delay before each retry, in milliseconds, set as the failed record's visibility timeout
     * (whole seconds, rounded up). Default 1 000 doubling to at most 300 000, full jitter.
     */
    readonly backoff?: BackoffOptions;
  };
  /**
   * Where dead letters go, with failure metadata in their headers: a {@link Sender}, such as
   * `sqsQueue({ client, queueUrl })` from `missive/sqs` for a dead-letter queue, or a function
   * that makes one on the first dead letter. The record then succeeds, so Lambda deletes it.
   * Default none: dead letters are reported failed and left to the queue's redrive policy, which
   * moves them without metadata.
   */
  readonly deadLetter?: Sender | (() => Sender | Promise<Sender>);
  /**
   * Suppresses duplicates through an idempotency store; a duplicate record succeeds without
   * running the handler. `leaseMs` defaults to the invocation's remaining time: leases are not
   * renewed in Lambda, and one must not lapse while its invocation may still run.
   */
  readonly idempotency?: IdempotencyOptions;
  /** Validates bodies (Standard Schema); invalid ones are dead-lettered at once. Default none. */
  readonly schema?: StandardSchemaV1<unknown, Body>;
  /** Decodes bodies. Default JSON. */
  readonly codec?: Codec;
  /** A CONSUMER span per record, linked to its producer's: pass `missiveTelemetry()` from `missive/telemetry`. Default off. */
  readonly telemetry?: Instrumentation;
  /** Receives errors outside handlers (a failed visibility change or dead-letter send). Default `console.error`. */
  readonly onError?: (error: Error) => void;
  /** Clock for the timeout margin, failure times and end-to-end latency. Default the system clock. */
  readonly clock?: Clock;
  /** Random source for jitter, in [0, 1). Default `Math.random`. */
  readonly random?: () => number;
}

/**
 * A Lambda handler for an SQS event source mapping with `ReportBatchItemFailures`. It rejects
 * (a `ConfigurationError`) only for an event that is not an SQS event.
 */
export type SqsLambdaHandler = (event: SqsEvent, context: LambdaContext) => Promise<SqsBatchResponse>;

const defaultOnError = (error: Error) =>
  console.error(`[missive] ${error.message}${error.cause instanceof Error ? ` (cause: ${error.cause.message})` : ''}`);

/**
 * Wraps a Missive handler, the same one `createConsumer` takes, into a Lambda handler for an SQS
 * event source mapping with `ReportBatchItemFailures`. It returns the records to deliver again in
 * `batchItemFailures`, each failed record's visibility set to its backoff delay; FIFO groups keep
 * their order; no record starts within `timeoutMarginMs` of the Lambda timeout. Options are
 * checked here: a bad one throws a `ConfigurationError` at once, not per invocation.
 *
 * @example
 * ```ts
 * import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
 * import { dynamoDbIdempotencyStore } from 'missive/dynamodb';
 * import { sqsHandler } from 'missive/lambda';
 *
 * const client = new DynamoDBClient({});
 * export const handler = sqsHandler<Order>(async (message) => ship(message.body), {
 *   idempotency: { store: dynamoDbIdempotencyStore({ client, tableName: 'idempotency' }) },
 * });
 * ```
 */
export function sqsHandler<Body = unknown>(
  handler: Handler<Body>,
  options: SqsHandlerOptions<Body> = {},
): SqsLambdaHandler {
  if (typeof handler !== 'function')
    throw new ConfigurationError('handler', handler, 'a function (message, context) => result');
  const concurrency = integerOption('concurrency', options.concurrency, 10, 1, 10_000);
  const marginMs = integerOption('timeoutMarginMs', options.timeoutMarginMs, 1_000, 0, 900_000);
  const maxAttempts = integerOption('retry.maxAttempts', options.retry?.maxAttempts, 5, 1, 1_000);
  const backoff = createBackoff(
    { initialDelayMs: 1_000, maxDelayMs: 300_000, ...options.retry?.backoff },
    'retry.backoff',
  );
  const onError = functionOption('onError', options.onError, defaultOnError);
  const random = functionOption('random', options.random, Math.random);
  const clock = options.clock ?? systemClock;
  const queueUrlOf = queueUrlOption(options.queueUrl);
  const deadLetter = deadLetterOption(options.deadLetter);
  const sqs = new LambdaSqs(clientOption(options.client));
  const sources = new Map<string, BatchSource>();
  let marginReported = false;

  // A throwing (or rejecting) error callback must not fail the batch.
  const report = (error: unknown) => callErrorCallback(() => onError(toError(error)));

  const sourceOf = (arn: string): BatchSource => {
    let source = sources.get(arn);
    if (!source) {
      const queueUrl = queueUrlOf(arn);
      source = {
        queueUrl,
        region: regionOfArn(arn),
        deadLetter,
        sqs,
        traced: options.telemetry?.process({ name: queueUrl, system: 'aws_sqs' }, { clock }),
      };
      sources.set(arn, source);
    }
    return source;
  };

  const setup: BatchSetup<Body> = {
    handler,
    concurrency,
    marginMs,
    maxAttempts,
    backoff,
    random,
    clock,
    decode: decodeStep(options.codec ?? jsonCodec, options.schema),
    retry: retryStep(() => maxAttempts, backoff, random),
    idempotency: options.idempotency && resolveIdempotency(options.idempotency),
    leaseFixed: options.idempotency?.leaseMs !== undefined,
    sourceOf,
    report,
    marginTooLong: (startMs) => {
      if (marginReported) return;
      marginReported = true;
      report(
        new ConfigurationError(
          'timeoutMarginMs',
          marginMs,
          `less than the ${startMs} ms an invocation had left when it started; half of that is kept back instead. Raise the function's timeout, or lower timeoutMarginMs`,
        ),
      );
    },
  };

  return (event, context) => {
    const records = event?.Records;
    if (!Array.isArray(records)) {
      return Promise.reject(
        new ConfigurationError('event', event, 'an SQS event ({ Records: [...] }) from an SQS event source mapping'),
      );
    }
    // Without a Lambda context (a local call), there is no deadline.
    const remainingMs =
      typeof context?.getRemainingTimeInMillis === 'function'
        ? () => {
            const ms = context.getRemainingTimeInMillis();
            return Number.isNaN(ms) ? Number.POSITIVE_INFINITY : ms;
          }
        : () => Number.POSITIVE_INFINITY;
    return processBatch(setup, records, remainingMs);
  };
}

function queueUrlOption(option: SqsHandlerOptions<unknown>['queueUrl']): (arn: string) => string {
  if (option === undefined) return queueUrlOfArn;
  if (typeof option === 'function') return option;
  if (typeof option !== 'string' || !/^https?:\/\//.test(option))
    throw new ConfigurationError('queueUrl', option, 'the URL of an SQS queue, or a function of the eventSourceARN');
  return () => option;
}

function deadLetterOption(option: SqsHandlerOptions<unknown>['deadLetter']): (() => Promise<Sender>) | undefined {
  if (option === undefined) return undefined;
  if (typeof option === 'function') {
    let sender: Promise<Sender> | undefined;
    return () => {
      sender ??= Promise.resolve()
        .then(option)
        .catch((error: unknown) => {
          sender = undefined;
          throw error;
        });
      return sender;
    };
  }
  if (typeof option?.send !== 'function')
    throw new ConfigurationError(
      'deadLetter',
      option,
      'a Sender, such as sqsQueue({ client, queueUrl }) from missive/sqs',
    );
  const sender = Promise.resolve(option);
  return () => sender;
}

function clientOption(option: SqsClientSource | undefined): SqsClientSource | undefined {
  if (option !== undefined && typeof option !== 'function' && typeof option?.send !== 'function')
    throw new ConfigurationError(
      'client',
      option,
      'an SQSClient from @aws-sdk/client-sqs, or a function returning one',
    );
  return option;
}

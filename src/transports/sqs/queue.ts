import { createHash } from 'node:crypto';
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  GetQueueUrlCommand,
  type MessageAttributeValue,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { type Clock, sleep, systemClock } from '../../clock.ts';
import { ConfigurationError, MessageTooLargeError, TransportError } from '../../errors.ts';
import { type FailureMetadata, withFailureHeaders } from '../../failure.ts';
import type { Envelope, OutgoingEnvelope } from '../../message.ts';
import { integerOption, requiredOption } from '../../options.ts';
import type { Delivery, ReceiveOptions, Receiver, Sender, SendOutcome, TransportFeatures } from '../contract.ts';
import { SqsLimits } from '../sqs-limits.ts';
import { fromSqsMessage, RECEIVE_ATTRIBUTES, sqsMessageSizeBytes, toMessageAttributes } from './attributes.ts';
import { Batcher } from './batcher.ts';
import { isRetryable, toTransportError } from './classify.ts';
import { SqsDelivery } from './delivery.ts';

const MAX_BATCH_ENTRIES = SqsLimits.maxBatchEntries;
const MAX_BATCH_BYTES = SqsLimits.maxMessageBytes;
const MAX_DELAY_SECONDS = SqsLimits.maxDelayMs / 1000;
const MAX_VISIBILITY_SECONDS = SqsLimits.maxVisibilityMs / 1000;
const MAX_WAIT_SECONDS = SqsLimits.maxWaitMs / 1000;
/** Tries of one batch call before its entries fail. */
const BATCH_CALL_ATTEMPTS = 3;

/** Options of {@link sqsQueue}. Durations are in milliseconds. */
export interface SqsQueueOptions {
  /** Your `SQSClient` (AWS SDK v3). Missive retries on its own: `maxAttempts: 1` on the client avoids retries of retries. */
  readonly client: SQSClient;
  /** The queue URL, exactly as SQS (or `CreateQueue`) returned it. */
  readonly queueUrl: string;
  /** FIFO queue. Default: whether the URL ends in `.fifo`. */
  readonly fifo?: boolean;
  /** The `MessageGroupId` for messages sent without a `groupId` (FIFO only): a value, or a function of the envelope. */
  readonly messageGroupId?: string | ((envelope: Envelope) => string);
  /**
   * Where dead letters go. Default `'native'`: the dead-letter queue of the queue's `RedrivePolicy`,
   * whose `maxReceiveCount` also caps the consumer's attempts so the two agree. Or the URL of a
   * dead-letter queue to send to explicitly (the queue then needs no redrive policy).
   */
  readonly deadLetter?: 'native' | { readonly queueUrl: string };
  /** How long a send or delete waits for others to share its batch call, in milliseconds. Default 5. */
  readonly batchLingerMs?: number;
  /**
   * How long an ack waits for others to share its `DeleteMessageBatch`, in milliseconds. Default 20:
   * no caller waits on it, and at a few hundred messages per second it halves the delete requests.
   */
  readonly ackLingerMs?: number;
  /** Largest message accepted (body plus attributes, UTF-8), in bytes. Default 1 048 576 (SQS's limit). */
  readonly maxMessageBytes?: number;
  /** Clock for batch lingering. Default the system clock. */
  readonly clock?: Clock;
}

interface SendEntry {
  readonly envelope: OutgoingEnvelope;
  readonly attributes: Record<string, MessageAttributeValue>;
  readonly sizeBytes: number;
  readonly deduplicationId: string | undefined;
}

interface VisibilityEntry {
  readonly receiptHandle: string;
  readonly seconds: number;
}

/**
 * An Amazon SQS queue as a Missive {@link Sender} and {@link Receiver}. Sends are coalesced into
 * `SendMessageBatch` calls, acks into `DeleteMessageBatch`, visibility changes into
 * `ChangeMessageVisibilityBatch`: up to ten messages per request. Create one with {@link sqsQueue}.
 */
export class SqsQueue implements Sender, Receiver {
  readonly queueUrl: string;
  readonly features: TransportFeatures;
  readonly messagingSystem = 'aws_sqs';
  readonly #client: SQSClient;
  readonly #clock: Clock;
  readonly #lingerMs: number;
  readonly #fifo: boolean;
  readonly #groupId: ((envelope: Envelope) => string) | undefined;
  readonly #maxMessageBytes: number;
  readonly #deadLetter: 'native' | { readonly queueUrl: string };
  readonly #sends: Batcher<SendEntry, SendOutcome>;
  readonly #deletes: Batcher<string, Error | undefined>;
  readonly #visibility: Batcher<VisibilityEntry, Error | undefined>;
  #redrive: Promise<{ deadLetterQueueUrl: string; maxReceiveCount: number } | undefined> | undefined;
  #deadLetterQueue: Promise<SqsQueue> | undefined;

  constructor(options: SqsQueueOptions) {
    this.#client = requiredOption('client', options.client, 'an SQSClient from @aws-sdk/client-sqs');
    this.queueUrl = requiredOption('queueUrl', options.queueUrl, 'the URL of an SQS queue');
    if (typeof this.queueUrl !== 'string' || !/^https?:\/\//.test(this.queueUrl)) {
      throw new ConfigurationError(
        'queueUrl',
        this.queueUrl,
        'a queue URL such as https://sqs.eu-west-1.amazonaws.com/123456789012/orders',
      );
    }
    this.#fifo = options.fifo ?? this.queueUrl.endsWith('.fifo');
    const group = options.messageGroupId;
    this.#groupId = typeof group === 'function' ? group : group === undefined ? undefined : () => group;
    this.#maxMessageBytes = integerOption(
      'maxMessageBytes',
      options.maxMessageBytes,
      MAX_BATCH_BYTES,
      1,
      MAX_BATCH_BYTES,
    );
    this.#deadLetter = options.deadLetter ?? 'native';
    const lingerMs = integerOption('batchLingerMs', options.batchLingerMs, 5, 0, 1_000);
    this.#lingerMs = lingerMs;
    const clock = options.clock ?? systemClock;
    this.#clock = clock;
    this.features = {
      fifo: this.#fifo,
      delay: !this.#fifo,
      deadLetter: true,
      nativeDeadLetter: this.#deadLetter === 'native',
      persistence: true,
    };
    this.#sends = new Batcher({
      maxEntries: MAX_BATCH_ENTRIES,
      maxBytes: MAX_BATCH_BYTES,
      sizeOf: (entry) => entry.sizeBytes,
      lingerMs,
      clock,
      flush: (entries) => this.#sendBatch(entries),
    });
    this.#deletes = new Batcher({
      maxEntries: MAX_BATCH_ENTRIES,
      // Nobody waits on an ack but the consumer's bookkeeping: a longer wait fills more batches.
      lingerMs: integerOption('ackLingerMs', options.ackLingerMs, 20, 0, 1_000),
      clock,
      flush: (handles) => this.#deleteBatch(handles),
    });
    this.#visibility = new Batcher({
      maxEntries: MAX_BATCH_ENTRIES,
      lingerMs,
      clock,
      flush: (entries) => this.#visibilityBatch(entries),
    });
  }

  get destination(): string {
    return this.queueUrl;
  }

  get source(): string {
    return this.queueUrl;
  }

  /** Sends envelopes through batched `SendMessageBatch` calls; invalid ones are `permanent` without a call. */
  send(envelopes: readonly OutgoingEnvelope[]): Promise<SendOutcome[]> {
    return Promise.all(envelopes.map((envelope) => this.#sendOne(envelope, undefined)));
  }

  /** Receives up to 10 messages (SQS's maximum per call), long-polling up to 20 s. */
  async receive(options: ReceiveOptions): Promise<Delivery[]> {
    const command = new ReceiveMessageCommand({
      QueueUrl: this.queueUrl,
      MaxNumberOfMessages: Math.max(1, Math.min(MAX_BATCH_ENTRIES, options.maxMessages)),
      WaitTimeSeconds: waitSeconds(options.waitTimeMs),
      ...(options.visibilityTimeoutMs === undefined
        ? {}
        : { VisibilityTimeout: toSeconds(options.visibilityTimeoutMs, MAX_VISIBILITY_SECONDS) }),
      ...RECEIVE_ATTRIBUTES,
    });
    try {
      const output = await this.#client.send(command, options.signal ? { abortSignal: options.signal } : {});
      return (output.Messages ?? []).map(
        (message) =>
          new SqsDelivery(
            this,
            message.ReceiptHandle as string,
            fromSqsMessage(message),
            Number(message.Attributes?.ApproximateReceiveCount ?? 1),
            Number(message.Attributes?.ApproximateFirstReceiveTimestamp ?? Date.now()),
          ),
      );
    } catch (error) {
      if (options.signal?.aborted) return [];
      throw toTransportError(error, this.queueUrl, 'ReceiveMessage');
    }
  }

  /** SQS keeps an aborted long poll open until its wait (whole seconds, at most 20) ends. */
  abandonedPollOpenMs(waitTimeMs: number): number {
    return waitSeconds(waitTimeMs) * 1000 + 250;
  }

  /**
   * The receive count after which SQS moves a message to the dead-letter queue by itself (the
   * `maxReceiveCount` of the queue's redrive policy), or undefined without one. Consumers cap
   * their attempts to it.
   */
  async deliveryLimit(): Promise<number | undefined> {
    const policy = await this.#redrivePolicy();
    if (!policy && this.#deadLetter === 'native') {
      throw new TransportError(
        this.queueUrl,
        `Queue ${this.queueUrl} has no RedrivePolicy, so native dead-lettering has nowhere to move messages. Give it one, or pass deadLetter: { queueUrl } to sqsQueue().`,
        false,
      );
    }
    return policy?.maxReceiveCount;
  }

  /** Sends every batched send, delete and visibility change waiting now, and waits for the answers. */
  async flush(): Promise<void> {
    await Promise.all([this.#sends.drain(), this.#deletes.drain(), this.#visibility.drain()]);
  }

  /** @internal */
  delete(receiptHandle: string): Promise<Error | undefined> {
    return this.#deletes.add(receiptHandle);
  }

  /** @internal */
  changeVisibility(receiptHandle: string, ms: number): Promise<Error | undefined> {
    return this.#visibility.add({ receiptHandle, seconds: toSeconds(ms, MAX_VISIBILITY_SECONDS) });
  }

  /**
   * @internal Sends `envelope` with `failure` to the dead-letter queue. Its deduplication id
   * includes the failure time, so a message dead-lettered again (after a redrive) is not
   * swallowed by a FIFO dead-letter queue's five-minute deduplication.
   */
  async sendToDeadLetterQueue(envelope: Envelope, failure: FailureMetadata): Promise<SendOutcome> {
    const target = await this.#deadLetterTarget();
    const headers = withFailureHeaders(envelope.headers, failure);
    return target.#sendOne({ ...envelope, headers }, deduplicationId(`${envelope.id}:${failure.failedAt}`));
  }

  #sendOne(envelope: OutgoingEnvelope, dedupOverride: string | undefined): Promise<SendOutcome> {
    const id = envelope.id;
    const attributes = toMessageAttributes(envelope);
    const sizeBytes = sqsMessageSizeBytes(envelope.body, attributes);
    if (sizeBytes > this.#maxMessageBytes) {
      return Promise.resolve({
        status: 'permanent',
        id,
        error: new MessageTooLargeError(this.queueUrl, sizeBytes, this.#maxMessageBytes),
      });
    }
    if (envelope.delayMs !== undefined && (envelope.delayMs < 0 || envelope.delayMs > MAX_DELAY_SECONDS * 1000)) {
      return Promise.resolve({
        status: 'permanent',
        id,
        error: new TransportError(
          this.queueUrl,
          `delayMs ${envelope.delayMs} is outside 0 to ${MAX_DELAY_SECONDS * 1000} ms, the range SQS allows (DelaySeconds up to 900). Schedule longer waits elsewhere (EventBridge Scheduler, a database).`,
          false,
        ),
      });
    }
    if (this.#fifo) {
      if (envelope.delayMs) {
        return Promise.resolve({
          status: 'permanent',
          id,
          error: new TransportError(
            this.queueUrl,
            `FIFO queue ${this.queueUrl} does not support per-message delays. Set DelaySeconds on the queue instead.`,
            false,
          ),
        });
      }
      if (!envelope.groupId && !this.#groupId) {
        return Promise.resolve({
          status: 'permanent',
          id,
          error: new TransportError(
            this.queueUrl,
            `FIFO queue ${this.queueUrl} needs a MessageGroupId. Pass groupId to send(), or messageGroupId to sqsQueue().`,
            false,
          ),
        });
      }
    }
    const dedup = this.#fifo ? (dedupOverride ?? deduplicationId(envelope.idempotencyKey)) : undefined;
    return this.#sends.add({ envelope, attributes, sizeBytes, deduplicationId: dedup });
  }

  async #sendBatch(entries: SendEntry[]): Promise<SendOutcome[]> {
    const command = new SendMessageBatchCommand({
      QueueUrl: this.queueUrl,
      Entries: entries.map(({ envelope, attributes, deduplicationId }, index) => ({
        Id: String(index),
        MessageBody: envelope.body,
        MessageAttributes: attributes,
        ...(envelope.delayMs ? { DelaySeconds: toSeconds(envelope.delayMs, MAX_DELAY_SECONDS) } : {}),
        ...(this.#fifo
          ? { MessageGroupId: envelope.groupId ?? this.#groupId?.(envelope), MessageDeduplicationId: deduplicationId }
          : {}),
      })),
    });
    let output: SendMessageBatchCommandOutput;
    try {
      output = await this.#client.send(command);
    } catch (error) {
      const failure = toTransportError(error, this.queueUrl, 'SendMessageBatch');
      return entries.map(({ envelope }) => ({
        status: failure.retryable ? 'retryable' : 'permanent',
        id: envelope.id,
        error: failure,
      }));
    }
    const failed = new Map((output.Failed ?? []).map((entry) => [entry.Id, entry]));
    return entries.map(({ envelope }, index): SendOutcome => {
      const failure = failed.get(String(index));
      if (!failure) return { status: 'accepted', id: envelope.id };
      // SenderFault marks a problem with the entry itself; anything else is SQS's and may pass on retry.
      const retryable = failure.SenderFault !== true;
      const error = new TransportError(
        this.queueUrl,
        `SQS refused message ${envelope.id} (${failure.Code}: ${failure.Message ?? 'no detail'})${retryable ? '; it is retried.' : '. Fix the message; retrying cannot help.'}`,
        retryable,
      );
      return retryable
        ? { status: 'retryable', id: envelope.id, error }
        : { status: 'permanent', id: envelope.id, error };
    });
  }

  async #deleteBatch(handles: string[]): Promise<(Error | undefined)[]> {
    try {
      const output = await this.#withRetries(() =>
        this.#client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: handles.map((ReceiptHandle, index) => ({ Id: String(index), ReceiptHandle })),
          }),
        ),
      );
      return entryErrors(handles.length, output.Failed, this.queueUrl, 'DeleteMessageBatch');
    } catch (error) {
      throw toTransportError(error, this.queueUrl, 'DeleteMessageBatch');
    }
  }

  async #visibilityBatch(entries: VisibilityEntry[]): Promise<(Error | undefined)[]> {
    try {
      const output = await this.#withRetries(() =>
        this.#client.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.queueUrl,
            Entries: entries.map(({ receiptHandle, seconds }, index) => ({
              Id: String(index),
              ReceiptHandle: receiptHandle,
              VisibilityTimeout: seconds,
            })),
          }),
        ),
      );
      return entryErrors(entries.length, output.Failed, this.queueUrl, 'ChangeMessageVisibilityBatch');
    } catch (error) {
      throw toTransportError(error, this.queueUrl, 'ChangeMessageVisibilityBatch');
    }
  }

  /**
   * Runs a delete or visibility batch call, repeating it after a short pause on throttling, 5xx
   * or network errors (three tries in all): a lost delete costs a redelivery. Sends are not
   * repeated here: the producer retries them, within its retry budget.
   */
  async #withRetries<T>(call: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await call();
      } catch (error) {
        if (attempt >= BATCH_CALL_ATTEMPTS || !isRetryable(error)) throw error;
        await sleep(this.#clock, 50 * 2 ** (attempt - 1) * (0.5 + Math.random() / 2));
      }
    }
  }

  #redrivePolicy(): Promise<{ deadLetterQueueUrl: string; maxReceiveCount: number } | undefined> {
    this.#redrive ??= this.#readRedrivePolicy().catch((error: unknown) => {
      this.#redrive = undefined;
      throw error;
    });
    return this.#redrive;
  }

  async #readRedrivePolicy(): Promise<{ deadLetterQueueUrl: string; maxReceiveCount: number } | undefined> {
    let policy: string | undefined;
    try {
      const output = await this.#client.send(
        new GetQueueAttributesCommand({ QueueUrl: this.queueUrl, AttributeNames: ['RedrivePolicy'] }),
      );
      policy = output.Attributes?.RedrivePolicy;
    } catch (error) {
      throw toTransportError(error, this.queueUrl, 'GetQueueAttributes');
    }
    if (!policy) return undefined;
    const { deadLetterTargetArn, maxReceiveCount } = JSON.parse(policy) as {
      deadLetterTargetArn: string;
      maxReceiveCount: number | string;
    };
    // arn:aws:sqs:<region>:<account>:<name>
    const [, , , , account, name] = deadLetterTargetArn.split(':');
    try {
      const { QueueUrl } = await this.#client.send(
        new GetQueueUrlCommand({ QueueName: name, QueueOwnerAWSAccountId: account }),
      );
      return { deadLetterQueueUrl: QueueUrl as string, maxReceiveCount: Number(maxReceiveCount) };
    } catch (error) {
      throw toTransportError(error, deadLetterTargetArn, 'GetQueueUrl');
    }
  }

  #deadLetterTarget(): Promise<SqsQueue> {
    this.#deadLetterQueue ??= (async () => {
      const url =
        this.#deadLetter === 'native' ? (await this.#redrivePolicy())?.deadLetterQueueUrl : this.#deadLetter.queueUrl;
      if (!url) {
        throw new TransportError(
          this.queueUrl,
          `Queue ${this.queueUrl} has no RedrivePolicy, so there is no dead-letter queue to move messages to. Give it one, or pass deadLetter: { queueUrl } to sqsQueue().`,
          false,
        );
      }
      return new SqsQueue({
        client: this.#client,
        queueUrl: url,
        deadLetter: { queueUrl: url },
        clock: this.#clock,
        batchLingerMs: this.#lingerMs,
      });
    })().catch((error: unknown) => {
      this.#deadLetterQueue = undefined;
      throw error;
    });
    return this.#deadLetterQueue;
  }
}

/** Per-entry errors of a batch call's `Failed` list, in entry order. */
function entryErrors(
  count: number,
  failed: { Id?: string | undefined; Code?: string | undefined; Message?: string | undefined }[] | undefined,
  queueUrl: string,
  operation: string,
): (Error | undefined)[] {
  const errors: (Error | undefined)[] = new Array(count).fill(undefined);
  for (const entry of failed ?? []) {
    const expired = entry.Code === 'ReceiptHandleIsInvalid' || entry.Code === 'MessageNotInflight';
    errors[Number(entry.Id)] = new TransportError(
      queueUrl,
      expired
        ? `${operation} on ${queueUrl}: the receipt handle expired (SQS ${entry.Code}); the message's visibility had lapsed, so it will be delivered again (idempotency keeps that safe).`
        : `${operation} on ${queueUrl} failed for one entry (SQS ${entry.Code}: ${entry.Message ?? 'no detail'}).`,
      !expired,
    );
  }
  return errors;
}

/** A long-poll wait in whole seconds, as SQS takes it. */
function waitSeconds(waitTimeMs: number): number {
  return Math.min(MAX_WAIT_SECONDS, Math.ceil(Math.max(0, waitTimeMs) / 1000));
}

/** Milliseconds to whole seconds, rounded up (a delay is a minimum), within [0, max]. */
function toSeconds(ms: number, max: number): number {
  return Math.min(max, Math.max(0, Math.ceil(ms / 1000)));
}

/** A valid `MessageDeduplicationId` (at most 128 characters of printable ASCII) for a key. */
function deduplicationId(key: string): string {
  return key.length <= 128 && /^[\x21-\x7e]+$/.test(key) ? key : createHash('sha256').update(key).digest('hex');
}

/**
 * The SQS transport's queue: its options, and receiving; sends, acks and visibility changes go
 * through the batching next to it, dead letters through the queue's dead-letter route.
 */
import { ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type Clock, systemClock } from '../../clock.ts';
import { ConfigurationError } from '../../errors.ts';
import { type FailureMetadata, withFailureHeaders } from '../../failure.ts';
import type { Envelope, OutgoingEnvelope } from '../../message.ts';
import { integerOption, requiredOption } from '../../options.ts';
import type { Delivery, ReceiveOptions, Receiver, Sender, SendOutcome, TransportFeatures } from '../contract.ts';
import { MAX_BATCH_ENTRIES, MAX_MESSAGE_BYTES, MAX_VISIBILITY_MS } from '../sqs-limits.ts';
import { fromSqsMessage, RECEIVE_ATTRIBUTES } from './attributes.ts';
import { toTransportError } from './classify.ts';
import { DeadLetterRoute } from './dead-letter-route.ts';
import { SqsDelivery } from './delivery.ts';
import { ReceiptBatches } from './receipt-batches.ts';
import { toSeconds, waitSeconds } from './seconds.ts';
import { deduplicationId, SendBatches } from './send-batches.ts';

const MAX_VISIBILITY_SECONDS = MAX_VISIBILITY_MS / 1000;

/** Options of {@link sqsQueue}. Durations are in milliseconds. */
export interface SqsQueueOptions {
  /** Your `SQSClient` (AWS SDK v3). Missive retries on its own: `maxAttempts: 1` on the client avoids retries of retries. */
  readonly client: SQSClient;
  /** The queue URL, exactly as SQS (or `CreateQueue`) returned it: `http(s)://…`, not a name or an ARN. */
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
  /**
   * How long a send or a visibility change waits for others to share its batch call, in
   * milliseconds. Default 5; 0 to 1 000. Acks have their own, `ackLingerMs`.
   */
  readonly batchLingerMs?: number;
  /**
   * How long an ack waits for others to share its `DeleteMessageBatch`, in milliseconds. Default 20;
   * 0 to 1 000. No caller waits on it, and at a few hundred messages per second it halves the delete requests.
   */
  readonly ackLingerMs?: number;
  /** Largest message accepted (body plus attributes, UTF-8), in bytes. Default 1 048 576 (SQS's limit); 1 to that. */
  readonly maxMessageBytes?: number;
  /** Clock for batch lingering. Default the system clock. */
  readonly clock?: Clock;
}

/**
 * An Amazon SQS queue as a Missive {@link Sender} and {@link Receiver}. Sends are coalesced into
 * `SendMessageBatch` calls, acks into `DeleteMessageBatch`, visibility changes into
 * `ChangeMessageVisibilityBatch`: up to ten messages per request. Create one with {@link sqsQueue}.
 *
 * @example
 * ```ts
 * import { SQSClient } from '@aws-sdk/client-sqs';
 * import { SqsQueue } from 'missive/sqs';
 *
 * const orders = new SqsQueue({ client: new SQSClient({}), queueUrl: process.env.ORDERS_QUEUE_URL! }); // what sqsQueue() returns
 * await orders.flush(); // before exit: the sends, deletes and visibility changes still lingering
 * ```
 */
export class SqsQueue implements Sender, Receiver {
  readonly queueUrl: string;
  readonly features: TransportFeatures;
  readonly messagingSystem = 'aws_sqs';
  readonly #client: SQSClient;
  readonly #sends: SendBatches;
  readonly #receipts: ReceiptBatches;
  readonly #deadLetters: DeadLetterRoute<SqsQueue>;

  constructor(options: SqsQueueOptions) {
    const client = requiredOption('client', options.client, 'an SQSClient from @aws-sdk/client-sqs');
    this.#client = client;
    const queueUrl = requiredOption('queueUrl', options.queueUrl, 'the URL of an SQS queue');
    this.queueUrl = queueUrl;
    if (typeof queueUrl !== 'string' || !/^https?:\/\//.test(queueUrl)) {
      throw new ConfigurationError(
        'queueUrl',
        queueUrl,
        'a queue URL such as https://sqs.eu-west-1.amazonaws.com/123456789012/orders',
      );
    }
    const fifo = options.fifo ?? queueUrl.endsWith('.fifo');
    const group = options.messageGroupId;
    const maxMessageBytes = integerOption(
      'maxMessageBytes',
      options.maxMessageBytes,
      MAX_MESSAGE_BYTES,
      1,
      MAX_MESSAGE_BYTES,
    );
    const deadLetter = options.deadLetter ?? 'native';
    const lingerMs = integerOption('batchLingerMs', options.batchLingerMs, 5, 0, 1_000);
    const clock = options.clock ?? systemClock;
    this.features = {
      fifo,
      delay: !fifo,
      deadLetter: true,
      nativeDeadLetter: deadLetter === 'native',
      persistence: true,
    };
    this.#sends = new SendBatches({
      client,
      queueUrl,
      fifo,
      groupId: typeof group === 'function' ? group : group === undefined ? undefined : () => group,
      maxMessageBytes,
      lingerMs,
      clock,
    });
    this.#receipts = new ReceiptBatches({
      client,
      queueUrl,
      lingerMs,
      ackLingerMs: integerOption('ackLingerMs', options.ackLingerMs, 20, 0, 1_000),
      clock,
    });
    this.#deadLetters = new DeadLetterRoute(
      client,
      queueUrl,
      deadLetter,
      (url) => new SqsQueue({ client, queueUrl: url, deadLetter: { queueUrl: url }, clock, batchLingerMs: lingerMs }),
    );
  }

  get destination(): string {
    return this.queueUrl;
  }

  get source(): string {
    return this.queueUrl;
  }

  /** Sends envelopes through batched `SendMessageBatch` calls; invalid ones are `permanent` without a call. */
  send(envelopes: readonly OutgoingEnvelope[]): Promise<SendOutcome[]> {
    return Promise.all(envelopes.map((envelope) => this.#sends.send(envelope, undefined)));
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
  deliveryLimit(): Promise<number | undefined> {
    return this.#deadLetters.deliveryLimit();
  }

  /** Sends every batched send, delete and visibility change waiting now, and waits for the answers. */
  async flush(): Promise<void> {
    await Promise.all([this.#sends.drain(), this.#receipts.drain()]);
  }

  /** @internal */
  delete(receiptHandle: string): Promise<Error | undefined> {
    return this.#receipts.delete(receiptHandle);
  }

  /** @internal */
  changeVisibility(receiptHandle: string, ms: number): Promise<Error | undefined> {
    return this.#receipts.changeVisibility(receiptHandle, ms);
  }

  /**
   * @internal Sends `envelope` with `failure` to the dead-letter queue. Its deduplication id
   * includes the failure time, so a message dead-lettered again (after a redrive) is not
   * swallowed by a FIFO dead-letter queue's five-minute deduplication.
   */
  async sendToDeadLetterQueue(envelope: Envelope, failure: FailureMetadata): Promise<SendOutcome> {
    const target = await this.#deadLetters.target();
    const headers = withFailureHeaders(envelope.headers, failure);
    return target.#sends.send({ ...envelope, headers }, deduplicationId(`${envelope.id}:${failure.failedAt}`));
  }
}

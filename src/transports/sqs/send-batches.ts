/**
 * Sending to one SQS queue: messages SQS would refuse are refused before any request, the rest
 * coalesced into `SendMessageBatch` calls that answer with an outcome per message.
 */
import { createHash } from 'node:crypto';
import {
  type MessageAttributeValue,
  SendMessageBatchCommand,
  type SendMessageBatchCommandOutput,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Clock } from '../../clock.ts';
import { MessageTooLargeError, TransportError } from '../../errors.ts';
import type { Envelope, OutgoingEnvelope } from '../../message.ts';
import type { SendOutcome } from '../contract.ts';
import { MAX_BATCH_ENTRIES, MAX_DELAY_MS, MAX_MESSAGE_BYTES } from '../sqs-limits.ts';
import { sqsMessageSizeBytes, toMessageAttributes } from './attributes.ts';
import { Batcher } from './batcher.ts';
import { toTransportError } from './classify.ts';
import { toSeconds } from './seconds.ts';

const MAX_DELAY_SECONDS = MAX_DELAY_MS / 1000;

/** Options of {@link SendBatches}. */
export interface SendBatchesOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  readonly fifo: boolean;
  /** The `MessageGroupId` of FIFO messages sent without a `groupId`. */
  readonly groupId: ((envelope: Envelope) => string) | undefined;
  /** Largest message accepted (body plus attributes, UTF-8), in bytes. */
  readonly maxMessageBytes: number;
  /** How long a send waits for others to share its batch call, in milliseconds. */
  readonly lingerMs: number;
  readonly clock: Clock;
}

interface SendEntry {
  readonly envelope: OutgoingEnvelope;
  readonly attributes: Record<string, MessageAttributeValue>;
  readonly sizeBytes: number;
  readonly deduplicationId: string | undefined;
}

export class SendBatches {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #fifo: boolean;
  readonly #groupId: ((envelope: Envelope) => string) | undefined;
  readonly #maxMessageBytes: number;
  readonly #batcher: Batcher<SendEntry, SendOutcome>;

  constructor(options: SendBatchesOptions) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
    this.#fifo = options.fifo;
    this.#groupId = options.groupId;
    this.#maxMessageBytes = options.maxMessageBytes;
    this.#batcher = new Batcher({
      maxEntries: MAX_BATCH_ENTRIES,
      maxBytes: MAX_MESSAGE_BYTES,
      sizeOf: (entry) => entry.sizeBytes,
      lingerMs: options.lingerMs,
      clock: options.clock,
      flush: (entries) => this.#sendBatch(entries),
    });
  }

  /**
   * Sends `envelope` in the next batch call. On a FIFO queue it is deduplicated on
   * `dedupOverride` if given, else on its idempotency key.
   */
  send(envelope: OutgoingEnvelope, dedupOverride: string | undefined): Promise<SendOutcome> {
    const id = envelope.id;
    const attributes = toMessageAttributes(envelope);
    const sizeBytes = sqsMessageSizeBytes(envelope.body, attributes);
    if (sizeBytes > this.#maxMessageBytes) {
      return Promise.resolve({
        status: 'permanent',
        id,
        error: new MessageTooLargeError(this.#queueUrl, sizeBytes, this.#maxMessageBytes),
      });
    }
    if (envelope.delayMs !== undefined && (envelope.delayMs < 0 || envelope.delayMs > MAX_DELAY_SECONDS * 1000)) {
      return Promise.resolve({
        status: 'permanent',
        id,
        error: new TransportError(
          this.#queueUrl,
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
            this.#queueUrl,
            `FIFO queue ${this.#queueUrl} does not support per-message delays. Set DelaySeconds on the queue instead.`,
            false,
          ),
        });
      }
      if (!envelope.groupId && !this.#groupId) {
        return Promise.resolve({
          status: 'permanent',
          id,
          error: new TransportError(
            this.#queueUrl,
            `FIFO queue ${this.#queueUrl} needs a MessageGroupId. Pass groupId to send(), or messageGroupId to sqsQueue().`,
            false,
          ),
        });
      }
    }
    const dedup = this.#fifo ? (dedupOverride ?? deduplicationId(envelope.idempotencyKey)) : undefined;
    return this.#batcher.add({ envelope, attributes, sizeBytes, deduplicationId: dedup });
  }

  /** Sends what is waiting now and resolves once every batch call under way has been answered. */
  drain(): Promise<void> {
    return this.#batcher.drain();
  }

  async #sendBatch(entries: SendEntry[]): Promise<SendOutcome[]> {
    const command = new SendMessageBatchCommand({
      QueueUrl: this.#queueUrl,
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
      const failure = toTransportError(error, this.#queueUrl, 'SendMessageBatch');
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
        this.#queueUrl,
        `SQS refused message ${envelope.id} (${failure.Code}: ${failure.Message ?? 'no detail'})${retryable ? '; it is retried.' : '. Fix the message; retrying cannot help.'}`,
        retryable,
      );
      return retryable
        ? { status: 'retryable', id: envelope.id, error }
        : { status: 'permanent', id: envelope.id, error };
    });
  }
}

/** A valid `MessageDeduplicationId` (at most 128 characters of printable ASCII) for a key. */
export function deduplicationId(key: string): string {
  return key.length <= 128 && /^[\x21-\x7e]+$/.test(key) ? key : createHash('sha256').update(key).digest('hex');
}

/**
 * Acks and visibility changes by receipt handle, coalesced into `DeleteMessageBatch` and
 * `ChangeMessageVisibilityBatch` calls that are repeated on transient failures.
 */
import { ChangeMessageVisibilityBatchCommand, DeleteMessageBatchCommand, type SQSClient } from '@aws-sdk/client-sqs';
import { type Clock, sleep } from '../../clock.ts';
import { TransportError } from '../../errors.ts';
import { MAX_BATCH_ENTRIES, MAX_VISIBILITY_MS } from '../sqs-limits.ts';
import { Batcher } from './batcher.ts';
import { isRetryable, toTransportError } from './classify.ts';
import { toSeconds } from './seconds.ts';

const MAX_VISIBILITY_SECONDS = MAX_VISIBILITY_MS / 1000;
/** Tries of one batch call before its entries fail. */
const BATCH_CALL_ATTEMPTS = 3;

/** Options of {@link ReceiptBatches}. */
export interface ReceiptBatchesOptions {
  readonly client: SQSClient;
  readonly queueUrl: string;
  /** How long a visibility change waits for others to share its batch call, in milliseconds. */
  readonly lingerMs: number;
  /** How long an ack waits for others to share its batch call, in milliseconds. */
  readonly ackLingerMs: number;
  readonly clock: Clock;
}

interface VisibilityEntry {
  readonly receiptHandle: string;
  readonly seconds: number;
}

export class ReceiptBatches {
  readonly #client: SQSClient;
  readonly #queueUrl: string;
  readonly #clock: Clock;
  readonly #deletes: Batcher<string, Error | undefined>;
  readonly #visibility: Batcher<VisibilityEntry, Error | undefined>;

  constructor(options: ReceiptBatchesOptions) {
    this.#client = options.client;
    this.#queueUrl = options.queueUrl;
    this.#clock = options.clock;
    this.#deletes = new Batcher({
      maxEntries: MAX_BATCH_ENTRIES,
      // Nobody waits on an ack but the consumer's bookkeeping: a longer wait fills more batches.
      lingerMs: options.ackLingerMs,
      clock: options.clock,
      flush: (handles) => this.#deleteBatch(handles),
    });
    this.#visibility = new Batcher({
      maxEntries: MAX_BATCH_ENTRIES,
      lingerMs: options.lingerMs,
      clock: options.clock,
      flush: (entries) => this.#visibilityBatch(entries),
    });
  }

  /** Deletes the message `receiptHandle` names; resolves with its entry's error, if any. */
  delete(receiptHandle: string): Promise<Error | undefined> {
    return this.#deletes.add(receiptHandle);
  }

  /** Makes the message visible again in `ms` (whole seconds, rounded up); resolves with its entry's error, if any. */
  changeVisibility(receiptHandle: string, ms: number): Promise<Error | undefined> {
    return this.#visibility.add({ receiptHandle, seconds: toSeconds(ms, MAX_VISIBILITY_SECONDS) });
  }

  /** Sends what is waiting now and resolves once every batch call under way has been answered. */
  async drain(): Promise<void> {
    await Promise.all([this.#deletes.drain(), this.#visibility.drain()]);
  }

  async #deleteBatch(handles: string[]): Promise<(Error | undefined)[]> {
    try {
      const output = await this.#withRetries(() =>
        this.#client.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.#queueUrl,
            Entries: handles.map((ReceiptHandle, index) => ({ Id: String(index), ReceiptHandle })),
          }),
        ),
      );
      return entryErrors(handles.length, output.Failed, this.#queueUrl, 'DeleteMessageBatch');
    } catch (error) {
      throw toTransportError(error, this.#queueUrl, 'DeleteMessageBatch');
    }
  }

  async #visibilityBatch(entries: VisibilityEntry[]): Promise<(Error | undefined)[]> {
    try {
      const output = await this.#withRetries(() =>
        this.#client.send(
          new ChangeMessageVisibilityBatchCommand({
            QueueUrl: this.#queueUrl,
            Entries: entries.map(({ receiptHandle, seconds }, index) => ({
              Id: String(index),
              ReceiptHandle: receiptHandle,
              VisibilityTimeout: seconds,
            })),
          }),
        ),
      );
      return entryErrors(entries.length, output.Failed, this.#queueUrl, 'ChangeMessageVisibilityBatch');
    } catch (error) {
      throw toTransportError(error, this.#queueUrl, 'ChangeMessageVisibilityBatch');
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

import { messageOf, TransportError } from '../errors.ts';
import { type FailureMetadata, withFailureHeaders } from '../failure.ts';
import type { Envelope } from '../message.ts';
import type { Delivery, Sender } from '../transports/contract.ts';
import { recordAttempt, recordEnvelope, type SqsRecord } from './event.ts';
import type { LambdaSqs } from './sqs-calls.ts';

/**
 * How a record ended, for the batch response. A tagged union on `status`: `succeeded` records
 * are left for Lambda to delete; `failed` ones are reported in `batchItemFailures`, their
 * visibility set to `visibilityMs` first (undefined: left at the queue's visibility timeout).
 */
export type RecordResult =
  | { readonly status: 'succeeded' }
  | { readonly status: 'failed'; readonly visibilityMs: number | undefined };

/** Where a record came from, and where its dead letter goes. */
export interface RecordSource {
  readonly queueUrl: string;
  readonly region: string | undefined;
  /** The dead-letter destination, or undefined to leave dead letters to the queue's redrive policy. */
  readonly deadLetter: (() => Promise<Sender>) | undefined;
  readonly sqs: LambdaSqs;
}

/**
 * One record of a Lambda batch as a {@link Delivery}, so it runs through the consumer's pipeline.
 * Settling records the result instead of calling SQS at once: `ack` leaves the record to Lambda,
 * which deletes it; `retry` reports it failed, with its visibility to be set to the delay; a
 * dead letter is sent, with failure metadata in its headers, to the dead-letter destination (the
 * record then succeeds), or left to the queue's redrive policy (the record fails). As the
 * contract asks, the first settlement wins.
 */
export class RecordDelivery implements Delivery {
  declare readonly record: SqsRecord;
  declare readonly envelope: Envelope;
  declare readonly attempt: number;
  declare readonly firstReceivedAt: number;
  declare readonly source: RecordSource;
  #result: RecordResult | undefined;
  #settling = false;

  constructor(record: SqsRecord, source: RecordSource, receivedAt: number) {
    this.record = record;
    this.envelope = recordEnvelope(record);
    this.attempt = recordAttempt(record);
    const first = Number(record.attributes.ApproximateFirstReceiveTimestamp);
    this.firstReceivedAt = Number.isFinite(first) && first > 0 ? first : receivedAt;
    this.source = source;
  }

  /** How the record ended; undefined while it is unsettled (not started, or still running). */
  get result(): RecordResult | undefined {
    return this.#result;
  }

  async ack(): Promise<void> {
    this.#settle({ status: 'succeeded' });
  }

  async retry({ delayMs }: { delayMs: number }): Promise<void> {
    this.#settle({ status: 'failed', visibilityMs: delayMs });
  }

  /** Reports the record failed without processing it, visible again at once. */
  release(): void {
    // Also when a dead-letter send is still under way: the batch answers without waiting for it.
    this.#result ??= { status: 'failed', visibilityMs: 0 };
  }

  async deadLetter(failure: FailureMetadata): Promise<void> {
    if (this.#result || this.#settling) return;
    if (!this.source.deadLetter) {
      // Left to the queue's redrive policy: reported failed, back after the visibility timeout.
      this.#settle({ status: 'failed', visibilityMs: undefined });
      return;
    }
    this.#settling = true;
    try {
      const sender = await this.source.deadLetter();
      const envelope = { ...this.envelope, headers: withFailureHeaders(this.envelope.headers, failure) };
      const [sent] = await sender.send([envelope]);
      if (sent?.status !== 'accepted') {
        throw new TransportError(
          sender.destination,
          `Dead-letter send of message ${this.envelope.id} to ${sender.destination} failed (${sent ? messageOf(sent.error) : 'no outcome'}); its record is reported failed and delivered again.`,
          sent?.status !== 'permanent',
          sent && 'error' in sent ? sent.error : undefined,
        );
      }
    } finally {
      this.#settling = false;
    }
    this.#settle({ status: 'succeeded' });
  }

  async extendVisibility(ms: number): Promise<void> {
    if (this.#result) return;
    const [error] = await this.source.sqs.changeVisibility(this.source.queueUrl, this.source.region, [
      { receiptHandle: this.record.receiptHandle, timeoutMs: ms },
    ]);
    if (error) throw error;
  }

  #settle(result: RecordResult): void {
    if (!this.#result && !this.#settling) this.#result = result;
  }
}

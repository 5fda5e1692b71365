import { TransportError } from '../../errors.ts';
import type { FailureMetadata } from '../../failure.ts';
import type { Envelope } from '../../message.ts';
import type { Delivery, SendOutcome } from '../contract.ts';

/** What a delivery settles through: the {@link SqsQueue} it came from (its `@internal` methods). */
export interface Settlement {
  readonly queueUrl: string;
  delete(receiptHandle: string): Promise<Error | undefined>;
  changeVisibility(receiptHandle: string, ms: number): Promise<Error | undefined>;
  sendToDeadLetterQueue(envelope: Envelope, failure: FailureMetadata): Promise<SendOutcome>;
}

/** A message received from SQS. */
export class SqsDelivery implements Delivery {
  readonly envelope: Envelope;
  readonly attempt: number;
  readonly firstReceivedAt: number;
  readonly #queue: Settlement;
  readonly #receiptHandle: string;
  #settled = false;

  constructor(queue: Settlement, receiptHandle: string, envelope: Envelope, attempt: number, firstReceivedAt: number) {
    this.#queue = queue;
    this.#receiptHandle = receiptHandle;
    this.envelope = envelope;
    this.attempt = attempt;
    this.firstReceivedAt = firstReceivedAt;
  }

  async ack(): Promise<void> {
    if (this.#settle()) throwIf(await this.#queue.delete(this.#receiptHandle));
  }

  async retry({ delayMs }: { delayMs: number }): Promise<void> {
    if (this.#settle()) throwIf(await this.#queue.changeVisibility(this.#receiptHandle, delayMs));
  }

  async extendVisibility(ms: number): Promise<void> {
    if (!this.#settled) throwIf(await this.#queue.changeVisibility(this.#receiptHandle, Math.max(ms, 1_000)));
  }

  async deadLetter(failure: FailureMetadata): Promise<void> {
    if (!this.#settle()) return;
    let sent: SendOutcome;
    try {
      sent = await this.#queue.sendToDeadLetterQueue(this.envelope, failure);
    } catch (error) {
      this.#settled = false;
      throw error;
    }
    if (sent.status !== 'accepted') {
      // The original stays: it comes back after its visibility timeout and fails its way here again.
      this.#settled = false;
      throw new TransportError(
        this.#queue.queueUrl,
        `Dead-letter send of message ${this.envelope.id} failed (${sent.error.message}); it stays on ${this.#queue.queueUrl}.`,
        sent.status === 'retryable',
        sent.error,
      );
    }
    throwIf(await this.#queue.delete(this.#receiptHandle));
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    return true;
  }
}

function throwIf(error: Error | undefined): void {
  if (error) throw error;
}

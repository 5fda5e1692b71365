import { ConfigurationError, TransportError } from '../../errors.ts';
import type { FailureMetadata } from '../../failure.ts';
import type { Envelope } from '../../message.ts';
import type { Delivery, TransportFeatures } from '../contract.ts';
import type { Stored } from './stored.ts';

/** What a delivery settles through: the {@link MemoryQueue} it came from (its `@internal` settle methods). */
export interface Settlement {
  readonly name: string;
  readonly features: TransportFeatures;
  settleAck(stored: Stored, receipt: number): void;
  settleVisibility(stored: Stored, receipt: number, delayMs: number): void;
  settleDeadLetter(stored: Stored, receipt: number, failure: FailureMetadata): Error | undefined;
}

const RESOLVED = Promise.resolve();

/** A message handed out by {@link MemoryQueue.receive}. */
export class MemoryDelivery implements Delivery {
  readonly envelope: Envelope;
  readonly attempt: number;
  readonly firstReceivedAt: number;
  readonly #queue: Settlement;
  readonly #stored: Stored;
  readonly #receipt: number;
  #settled = false;

  constructor(queue: Settlement, stored: Stored) {
    this.#queue = queue;
    this.#stored = stored;
    this.#receipt = stored.receipt;
    this.envelope = stored.envelope;
    this.attempt = stored.receiveCount;
    this.firstReceivedAt = stored.firstReceivedAt;
  }

  ack(): Promise<void> {
    if (this.#settle()) this.#queue.settleAck(this.#stored, this.#receipt);
    return RESOLVED;
  }

  retry(options: { delayMs: number }): Promise<void> {
    if (this.#settle()) this.#queue.settleVisibility(this.#stored, this.#receipt, options.delayMs);
    return RESOLVED;
  }

  deadLetter(failure: FailureMetadata): Promise<void> {
    if (this.#settled) return RESOLVED;
    if (!this.#queue.features.deadLetter) {
      return Promise.reject(
        new ConfigurationError(
          'deadLetterQueue',
          undefined,
          `a dead-letter queue on ${this.#queue.name} for deadLetter() to move messages to`,
        ),
      );
    }
    if (!this.#settle()) return RESOLVED;
    const refused = this.#queue.settleDeadLetter(this.#stored, this.#receipt, failure);
    if (!refused) return RESOLVED;
    this.#settled = false;
    return Promise.reject(
      new TransportError(
        this.#queue.name,
        `Dead-letter queue refused message ${this.envelope.id} (${refused.message}); it stays on ${this.#queue.name}.`,
        false,
        refused,
      ),
    );
  }

  extendVisibility(ms: number): Promise<void> {
    if (!this.#settled) this.#queue.settleVisibility(this.#stored, this.#receipt, Math.max(ms, 1));
    return RESOLVED;
  }

  #settle(): boolean {
    if (this.#settled) return false;
    this.#settled = true;
    return true;
  }
}

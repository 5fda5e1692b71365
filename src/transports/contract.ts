/**
 * The transport contract: what every transport (in-memory, SQS, HTTP) promises, and what the
 * reliability layer relies on. A transport is a {@link Sender}, a {@link Receiver}, or both.
 *
 * Guarantees a {@link Sender} keeps:
 * - `send` reports one {@link SendOutcome} per envelope, in the order given, and never rejects
 *   for a failure of individual messages: partial failures are outcomes, not exceptions.
 * - `accepted` means the destination has the message durably (as durably as it can: the
 *   in-memory transport holds it for the life of the process). It will be delivered at least once.
 * - `retryable` means the message was not accepted and sending the same envelope again may
 *   succeed; `permanent` means it never will (too large, invalid, destination gone).
 * - Sending an envelope again after an ambiguous failure is safe where the destination
 *   deduplicates on `idempotencyKey` (FIFO queues, receivers with an idempotency store).
 * - A transport that honours `signal` reports the envelopes it gave up on as `retryable` with the
 *   signal's reason, and the outcomes it knows as they are; it rejects only when it cannot tell
 *   any of them apart.
 *
 * Guarantees a {@link Receiver} keeps:
 * - A delivered message stays invisible to other receives until it is settled or its visibility
 *   timeout passes. A delivery not settled before its visibility expires is delivered again,
 *   with `attempt` one higher. Delivery is at least once.
 * - Settling is final and idempotent: the first of `ack`, `retry` or `deadLetter` wins, and any
 *   later settlement call on the same delivery is a no-op, never an error.
 * - `ack` removes the message for good. `retry` makes it visible again after `delayMs`.
 *   `deadLetter` moves it, with failure metadata, to the dead-letter destination.
 * - `extendVisibility(ms)` keeps an unsettled delivery invisible for `ms` from now.
 * - `receive` with `waitTimeMs` returns as soon as at least one message is available, or with
 *   an empty list when the wait passes or `signal` aborts. It never returns more than `maxMessages`.
 * - On FIFO receivers, messages of one group are delivered in order, one group member in flight
 *   at a time.
 *
 * @module
 */
import type { FailureMetadata } from '../failure.ts';
import type { Envelope, OutgoingEnvelope } from '../message.ts';

/** The result of sending one message. A tagged union on `status`. */
export type SendOutcome =
  | { readonly status: 'accepted'; readonly id: string }
  | {
      readonly status: 'retryable';
      readonly id: string;
      readonly error: Error;
      /** The destination asked to wait this long before retrying (HTTP `Retry-After`), in milliseconds. */
      readonly retryAfterMs?: number;
    }
  | { readonly status: 'permanent'; readonly id: string; readonly error: Error };

/** What a transport can do, so shared code and the conformance suite can adapt. */
export interface TransportFeatures {
  /** Ordered delivery per message group, with deduplication on the idempotency key. */
  readonly fifo: boolean;
  /** Per-message delivery delay. */
  readonly delay: boolean;
  /** `deadLetter` moves messages to a dead-letter destination the transport knows. */
  readonly deadLetter: boolean;
  /** The transport itself moves a message received too often to the dead-letter queue (a redrive policy). */
  readonly nativeDeadLetter: boolean;
  /** Messages survive a restart of the process. */
  readonly persistence: boolean;
}

/** The sending half of a transport. */
export interface Sender {
  /** Where messages go, for errors and telemetry: a queue name, a URL. */
  readonly destination: string;
  /** The messaging system, for telemetry (`aws_sqs`, `webhook`, `missive_memory`). Default `missive`. */
  readonly messagingSystem?: string;
  /** What the destination supports. */
  readonly features: TransportFeatures;
  /** Sends a batch and reports one outcome per envelope, in order. */
  send(envelopes: readonly OutgoingEnvelope[], options?: { signal?: AbortSignal }): Promise<SendOutcome[]>;
}

/** Options of one {@link Receiver.receive} call. */
export interface ReceiveOptions {
  /** Most messages to return, at least 1 (SQS returns at most 10). */
  readonly maxMessages: number;
  /** How long to wait for a first message when none is available, in milliseconds (long poll; 0 for none). */
  readonly waitTimeMs: number;
  /** How long received messages stay invisible, in milliseconds; default the queue's own. */
  readonly visibilityTimeoutMs?: number | undefined;
  /** Ends the wait early; the call then resolves with what it has (usually nothing). */
  readonly signal?: AbortSignal | undefined;
}

/** One received message and the operations that settle it. */
export interface Delivery {
  /** The message as received, its body still encoded. */
  readonly envelope: Envelope;
  /** 1 on the first delivery, then one more each time the message is received again. */
  readonly attempt: number;
  /** When the message was first received, in milliseconds since the epoch. */
  readonly firstReceivedAt: number;
  /** Removes the message for good. */
  ack(): Promise<void>;
  /** Makes the message visible again after `delayMs` milliseconds. */
  retry(options: { delayMs: number }): Promise<void>;
  /** Moves the message, with `failure` written into its headers, to the dead-letter destination. */
  deadLetter(failure: FailureMetadata): Promise<void>;
  /** Keeps the message invisible for `ms` milliseconds from now. */
  extendVisibility(ms: number): Promise<void>;
}

/** The receiving half of a transport. */
export interface Receiver {
  /** Where messages come from, for errors, telemetry and failure metadata. */
  readonly source: string;
  /** The messaging system, for telemetry (`aws_sqs`, `webhook`, `missive_memory`). Default `missive`. */
  readonly messagingSystem?: string;
  /** What the source supports. */
  readonly features: TransportFeatures;
  /** Receives up to `maxMessages`, waiting up to `waitTimeMs` for the first. */
  receive(options: ReceiveOptions): Promise<Delivery[]>;
  /**
   * The receive count after which the transport dead-letters a message by itself (SQS's redrive
   * `maxReceiveCount`), if it does. Consumers cap their attempts to it, so that the last attempt
   * is theirs and its failure metadata is kept.
   */
  deliveryLimit?(): Promise<number | undefined>;
  /**
   * How long a long poll aborted through `signal` may stay open at the server and still take
   * messages, in milliseconds, for a receive with `waitTimeMs` (SQS). Consumers release
   * messages at stop only after that. Absent: the abort closes the poll at once.
   */
  abandonedPollOpenMs?(waitTimeMs: number): number;
}

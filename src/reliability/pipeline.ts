/**
 * The consumer's processing pipeline: small steps, each a function from a {@link Process} to a
 * {@link Process}, composed in one visible place ({@link createConsumer}). A process turns one
 * delivery into an {@link Outcome}; the consumer then settles the delivery accordingly.
 *
 * @module
 */
import type { FailureReason } from '../failure.ts';
import type { Message } from '../message.ts';
import type { Delivery } from '../transports/contract.ts';

/** What a step knows about the delivery it is processing. */
export interface ProcessContext {
  readonly delivery: Delivery;
  /** Where the delivery came from (the receiver's `source`). */
  readonly source: string;
  /** Aborts when the consumer's stop deadline passes. */
  readonly signal: AbortSignal;
  /** The decoded message; set by the decode step, so present for every later step. */
  message?: Message<unknown>;
  /** The idempotency lease held while the handler runs; the consumer renews it before it lapses. */
  lease?: IdempotencyLeaseHandle | undefined;
}

/** A held idempotency lease, as the consumer's heartbeat sees it. */
export interface IdempotencyLeaseHandle {
  /** When the lease lapses, in milliseconds since the epoch; updated on renewal. */
  expiresAt: number;
  /** The lease's length, in milliseconds. */
  readonly leaseMs: number;
  /** Extends the lease by `leaseMs` from now; false when it was lost. */
  renew(): Promise<boolean>;
}

/** How a delivery ended. A tagged union on `status`. */
export type Outcome =
  | { readonly status: 'ack'; readonly result?: unknown; readonly duplicate?: boolean }
  | { readonly status: 'retry'; readonly delayMs: number; readonly error: Error }
  | { readonly status: 'dead-letter'; readonly reason: FailureReason; readonly error: Error };

/** Processes one delivery into an outcome. Never rejects: failures are outcomes. */
export type Process = (context: ProcessContext) => Promise<Outcome>;

/** One reliability concern, wrapped around the rest of the pipeline. */
export type Step = (next: Process) => Process;

/** Wraps `inner` in `steps`, the first step outermost. */
export function compose(steps: readonly Step[], inner: Process): Process {
  return steps.reduceRight<Process>((next, step) => step(next), inner);
}

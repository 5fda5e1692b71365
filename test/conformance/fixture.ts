import type { Receiver, Sender, TransportFeatures } from 'missive';

/** A queue made for one conformance test, with its dead-letter queue. */
export interface QueueUnderTest {
  readonly sender: Sender;
  readonly receiver: Receiver;
  /** Receives what was dead-lettered. */
  readonly deadLetters: Receiver;
  /** Visibility timeout the queue was created with, in milliseconds. */
  readonly visibilityTimeoutMs: number;
}

/** What a transport provides to run the conformance suite. */
export interface TransportFixture {
  readonly name: string;
  readonly features: TransportFeatures;
  /** The clock the transport runs on, passed to producers and consumers (a ManualClock or the system clock). */
  readonly clock: import('missive').Clock;
  /** With `maxReceiveCount`, the queue redrives to its dead-letter queue by itself after that many receives. */
  createQueue(options?: {
    fifo?: boolean;
    visibilityTimeoutMs?: number;
    maxReceiveCount?: number;
  }): Promise<QueueUnderTest>;
  /** Lets time pass until `condition` holds; fails after `limitMs` of (clock) time. */
  waitFor(condition: () => boolean, limitMs?: number): Promise<void>;
  /** Lets `ms` of (clock) time pass. */
  elapse(ms: number): Promise<void>;
}

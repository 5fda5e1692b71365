/**
 * The in-memory queue: SQS's message lifecycle (visible, delayed, in flight, gone), receive counts
 * and redrive, over the parts next to it that keep order, deadlines, deduplication and waiting receives.
 */
import { type Clock, systemClock } from '../../clock.ts';
import { ConfigurationError } from '../../errors.ts';
import { type FailureMetadata, withFailureHeaders } from '../../failure.ts';
import type { Envelope, OutgoingEnvelope } from '../../message.ts';
import { integerOption } from '../../options.ts';
import type { Delivery, ReceiveOptions, Receiver, Sender, SendOutcome, TransportFeatures } from '../contract.ts';
import { MAX_DELAY_MS, MAX_MESSAGE_BYTES, MAX_VISIBILITY_MS } from '../sqs-limits.ts';
import { DeadlineTimer } from './deadline-timer.ts';
import { DeduplicationWindow } from './deduplication.ts';
import { MemoryDelivery } from './delivery.ts';
import { ReceiveOrder } from './receive-order.ts';
import { fifoSendRefusal, sendRefusal } from './send-checks.ts';
import { type Group, State, Stored } from './stored.ts';
import { Waiters } from './waiters.ts';

/** Options of {@link memoryQueue}. Defaults mirror Amazon SQS. */
export interface MemoryQueueOptions {
  /** Name used in errors, telemetry and failure metadata. Default `memory-<n>` (`.fifo` suffixed for FIFO). */
  readonly name?: string;
  /** FIFO mode: ordered delivery per message group, one in flight per group, deduplication. Default false. */
  readonly fifo?: boolean;
  /** How long a received message stays invisible, in milliseconds. Default 30 000; 0 to 43 200 000 (12 h). */
  readonly visibilityTimeoutMs?: number;
  /** Delay applied to every message sent, in milliseconds. Default 0; at most 900 000 (15 min). */
  readonly delayMs?: number;
  /** Largest message accepted (body plus headers, UTF-8), in bytes. Default 1 048 576 (1 MiB); at least 1. */
  readonly maxMessageBytes?: number;
  /** FIFO deduplication window on the idempotency key, in milliseconds. Default 300 000 (5 min); 0 or more. */
  readonly deduplicationWindowMs?: number;
  /**
   * Where `deadLetter` moves messages, and where messages received more than `maxReceiveCount`
   * times are moved (the redrive policy). Without it, `deadLetter` is unavailable. FIFO exactly
   * when this queue is, as SQS requires (a `ConfigurationError` otherwise).
   */
  readonly deadLetterQueue?: MemoryQueue;
  /**
   * Receives after which a message is moved to `deadLetterQueue`. Default: no limit; at least 1.
   * Needs `deadLetterQueue` (a `ConfigurationError` otherwise).
   */
  readonly maxReceiveCount?: number;
  /** The clock behind every deadline. Default the system clock. */
  readonly clock?: Clock;
}

/** Approximate counts, as SQS reports them. */
export interface QueueCounts {
  /** Messages available to receive now. */
  readonly visible: number;
  /** Messages received and not yet settled or returned, including those waiting out a `retry` delay (as SQS counts them). */
  readonly inFlight: number;
  /** Messages waiting out a delivery delay given on send. */
  readonly delayed: number;
}

let queueCount = 0;

/**
 * An in-memory queue with the semantics of Amazon SQS: visibility timeouts, receive counts,
 * delays, redrive to a dead-letter queue, FIFO groups with deduplication, and long polling.
 * It is both a {@link Sender} and a {@link Receiver}. Create one with {@link memoryQueue}. Unlike
 * SQS, a receive may return more than ten messages: up to its `maxMessages`.
 *
 * @example
 * ```ts
 * import { MemoryQueue } from 'missive/memory';
 *
 * const orders = new MemoryQueue({ name: 'orders' }); // what memoryQueue() returns
 * orders.counts(); // { visible: 0, inFlight: 0, delayed: 0 }
 * ```
 */
export class MemoryQueue implements Sender, Receiver {
  readonly name: string;
  readonly features: TransportFeatures;
  readonly messagingSystem = 'missive_memory';
  readonly #clock: Clock;
  readonly #fifo: boolean;
  readonly #visibilityTimeoutMs: number;
  readonly #delayMs: number;
  readonly #maxMessageBytes: number;
  readonly #deadLetterQueue: MemoryQueue | undefined;
  readonly #maxReceiveCount: number;

  readonly #order: ReceiveOrder;
  readonly #deadlines: DeadlineTimer<Stored>;
  readonly #deduplication: DeduplicationWindow;
  readonly #waiters: Waiters;
  #sequence = 0;
  #counts = { visible: 0, inFlight: 0, delayed: 0 };

  constructor(options: MemoryQueueOptions = {}) {
    this.#fifo = options.fifo ?? false;
    this.name = options.name ?? `memory-${++queueCount}${this.#fifo ? '.fifo' : ''}`;
    this.#clock = options.clock ?? systemClock;
    this.#visibilityTimeoutMs = integerOption(
      'visibilityTimeoutMs',
      options.visibilityTimeoutMs,
      30_000,
      0,
      MAX_VISIBILITY_MS,
    );
    this.#delayMs = integerOption('delayMs', options.delayMs, 0, 0, MAX_DELAY_MS);
    this.#maxMessageBytes = integerOption('maxMessageBytes', options.maxMessageBytes, MAX_MESSAGE_BYTES, 1);
    this.#deduplication = new DeduplicationWindow(
      integerOption('deduplicationWindowMs', options.deduplicationWindowMs, 300_000, 0),
    );
    this.#deadLetterQueue = options.deadLetterQueue;
    this.#maxReceiveCount = integerOption('maxReceiveCount', options.maxReceiveCount, Number.POSITIVE_INFINITY, 1);
    if (options.maxReceiveCount !== undefined && !this.#deadLetterQueue) {
      throw new ConfigurationError(
        'maxReceiveCount',
        options.maxReceiveCount,
        'a deadLetterQueue to redrive to; pass deadLetterQueue as well',
      );
    }
    if (this.#deadLetterQueue && this.#deadLetterQueue.#fifo !== this.#fifo) {
      throw new ConfigurationError(
        'deadLetterQueue',
        this.#deadLetterQueue.name,
        `a ${this.#fifo ? 'FIFO' : 'standard'} queue, like the source queue (as SQS requires)`,
      );
    }
    this.#order = new ReceiveOrder(this.#fifo);
    this.#deadlines = new DeadlineTimer(this.#clock, (due) => this.#makeVisible(due));
    this.#waiters = new Waiters(this.#clock);
    this.features = {
      fifo: this.#fifo,
      delay: true,
      deadLetter: this.#deadLetterQueue !== undefined,
      nativeDeadLetter: Number.isFinite(this.#maxReceiveCount),
      persistence: false,
    };
  }

  get destination(): string {
    return this.name;
  }

  get source(): string {
    return this.name;
  }

  /** Accepts envelopes; oversize or malformed ones are reported `permanent`, the rest `accepted`. */
  send(envelopes: readonly OutgoingEnvelope[]): Promise<SendOutcome[]> {
    const outcomes: SendOutcome[] = new Array(envelopes.length);
    const now = this.#clock.now();
    for (let i = 0; i < envelopes.length; i++) {
      outcomes[i] = this.#accept(envelopes[i] as OutgoingEnvelope, now);
    }
    return Promise.resolve(outcomes);
  }

  /** Receives up to `maxMessages`, waiting up to `waitTimeMs` for the first one. */
  async receive(options: ReceiveOptions): Promise<Delivery[]> {
    const max = integerOption('maxMessages', options.maxMessages, 1, 1);
    const visibilityMs = integerOption(
      'visibilityTimeoutMs',
      options.visibilityTimeoutMs,
      this.#visibilityTimeoutMs,
      0,
      MAX_VISIBILITY_MS,
    );
    const taken = this.#take(max, visibilityMs);
    if (taken.length > 0 || options.waitTimeMs <= 0 || options.signal?.aborted) return taken;
    const deadline = this.#clock.now() + options.waitTimeMs;
    for (;;) {
      const woken = await this.#waiters.wait(deadline - this.#clock.now(), options.signal);
      const more = this.#take(max, visibilityMs);
      if (more.length > 0 || !woken) return more;
    }
  }

  /** The redrive policy's `maxReceiveCount`, if the queue has one. */
  deliveryLimit(): Promise<number | undefined> {
    return Promise.resolve(Number.isFinite(this.#maxReceiveCount) ? this.#maxReceiveCount : undefined);
  }

  /**
   * Counts of visible, in-flight and delayed messages (exact here; approximate on SQS).
   *
   * @example
   * ```ts
   * const { visible, inFlight } = queue.counts();
   * ```
   */
  counts(): QueueCounts {
    this.#deadlines.releaseDue();
    return { ...this.#counts };
  }

  /**
   * Deletes every message. Deliveries already handed out become no-ops.
   *
   * @example
   * ```ts
   * afterEach(() => queue.purge());
   * ```
   */
  purge(): void {
    const forget = (stored: Stored) => {
      stored.state = State.Gone;
    };
    for (const stored of this.#order.drain()) forget(stored);
    for (const stored of this.#deadlines.drain()) forget(stored);
    this.#counts = { visible: 0, inFlight: 0, delayed: 0 };
  }

  /** @internal Settles a delivery: deletes the message. */
  settleAck(stored: Stored, receipt: number): void {
    if (stored.receipt !== receipt || stored.state !== State.InFlight) return;
    this.#remove(stored);
  }

  /** @internal Settles or extends a delivery: visible again after `delayMs`. */
  settleVisibility(stored: Stored, receipt: number, delayMs: number): void {
    if (stored.receipt !== receipt || stored.state !== State.InFlight) return;
    if (delayMs <= 0) {
      this.#makeVisible(stored);
      return;
    }
    stored.deadline = this.#clock.now() + Math.min(delayMs, MAX_VISIBILITY_MS);
    this.#deadlines.upsert(stored);
    this.#deadlines.arm();
  }

  /**
   * @internal Settles a delivery: moves the message to the dead-letter queue. When the dead-letter
   * queue refuses it, the message stays in flight here (visible again after its timeout) and the
   * refusal is returned.
   */
  settleDeadLetter(stored: Stored, receipt: number, failure: FailureMetadata): Error | undefined {
    if (stored.receipt !== receipt || stored.state !== State.InFlight) return undefined;
    const dlq = this.#deadLetterQueue as MemoryQueue;
    const moved = dlq.#accept(
      { ...stored.envelope, headers: withFailureHeaders(stored.envelope.headers, failure) },
      this.#clock.now(),
      true,
    );
    if (moved.status !== 'accepted') return moved.error;
    this.#remove(stored);
    return undefined;
  }

  #accept(envelope: OutgoingEnvelope, now: number, fromRedrive = false): SendOutcome {
    const id = envelope.id;
    const delayMs = envelope.delayMs ?? this.#delayMs;
    const refused =
      sendRefusal(this.name, envelope, delayMs, this.#maxMessageBytes) ??
      (this.#fifo ? fifoSendRefusal(this.name, envelope, fromRedrive) : undefined);
    if (refused) return { status: 'permanent', id, error: refused };
    let group: Group | undefined;
    if (this.#fifo) {
      const duplicate = fromRedrive ? undefined : this.#deduplication.duplicateOf(envelope, now);
      if (duplicate) return { status: 'accepted', id: duplicate };
      group = this.#order.group(envelope.groupId as string);
    }
    // An explicit copy without delayMs: object rest (`{ delayMs, ...stored }`) costs ~8x more.
    const stored: Envelope = {
      id: envelope.id,
      body: envelope.body,
      headers: envelope.headers,
      idempotencyKey: envelope.idempotencyKey,
      createdAt: envelope.createdAt,
      groupId: envelope.groupId,
    };
    const record = new Stored(stored, this.#sequence++, group);
    if (group) this.#order.join(record);
    if (delayMs > 0 && !fromRedrive) {
      record.state = State.Delayed;
      record.deadline = now + delayMs;
      this.#counts.delayed++;
      this.#deadlines.upsert(record);
      this.#deadlines.arm();
    } else {
      this.#enqueueVisible(record);
    }
    return { status: 'accepted', id };
  }

  /** Makes `stored` receivable: FIFO messages through their group, when they head it. */
  #enqueueVisible(stored: Stored): void {
    stored.state = State.Visible;
    this.#counts.visible++;
    this.#order.offer(stored);
    this.#waiters.wakeOne();
  }

  #makeVisible(stored: Stored): void {
    if (stored.state === State.InFlight) this.#counts.inFlight--;
    else if (stored.state === State.Delayed) this.#counts.delayed--;
    this.#deadlines.remove(stored);
    this.#enqueueVisible(stored);
  }

  #remove(stored: Stored): void {
    if (stored.state === State.InFlight) this.#counts.inFlight--;
    stored.state = State.Gone;
    this.#deadlines.remove(stored);
    if (stored.group && this.#order.leave(stored)) this.#waiters.wakeOne();
  }

  #take(max: number, visibilityMs: number): Delivery[] {
    this.#deadlines.releaseDue();
    const out: Delivery[] = [];
    const now = this.#clock.now();
    while (out.length < max) {
      const stored = this.#order.next();
      if (!stored) break;
      this.#counts.visible--;
      if (stored.receiveCount >= this.#maxReceiveCount) {
        // Redrive: like SQS, the message moves on the receive that would exceed the limit. If the
        // dead-letter queue refuses it (too large for it), it is delivered here instead of lost.
        const moved = (this.#deadLetterQueue as MemoryQueue).#accept(stored.envelope, now, true);
        if (moved.status === 'accepted') {
          stored.state = State.InFlight;
          this.#counts.inFlight++;
          this.#remove(stored);
          continue;
        }
      }
      stored.receiveCount++;
      if (stored.receiveCount === 1) stored.firstReceivedAt = now;
      stored.receipt++;
      stored.state = State.InFlight;
      this.#counts.inFlight++;
      stored.deadline = now + visibilityMs;
      this.#deadlines.upsert(stored);
      out.push(new MemoryDelivery(this, stored));
    }
    if (out.length > 0) this.#deadlines.arm();
    return out;
  }
}

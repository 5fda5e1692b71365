import { type Clock, systemClock, type TimerHandle } from '../../clock.ts';
import { ConfigurationError, MessageTooLargeError, TransportError } from '../../errors.ts';
import { type FailureMetadata, withFailureHeaders } from '../../failure.ts';
import { type Envelope, envelopeSizeBytes, type OutgoingEnvelope } from '../../message.ts';
import { integerOption } from '../../options.ts';
import type { Delivery, ReceiveOptions, Receiver, Sender, SendOutcome, TransportFeatures } from '../contract.ts';
import { SqsLimits } from '../sqs-limits.ts';
import { type Deadlined, DeadlineHeap } from './deadline-heap.ts';
import { MemoryDelivery } from './delivery.ts';
import { Deque } from './deque.ts';

const MAX_DELAY_MS = SqsLimits.maxDelayMs;
const MAX_VISIBILITY_MS = SqsLimits.maxVisibilityMs;

/** Options of {@link memoryQueue}. Defaults mirror Amazon SQS. */
export interface MemoryQueueOptions {
  /** Name used in errors, telemetry and failure metadata. Default `memory-<n>` (`.fifo` suffixed for FIFO). */
  readonly name?: string;
  /** FIFO mode: ordered delivery per message group, one in flight per group, deduplication. Default false. */
  readonly fifo?: boolean;
  /** How long a received message stays invisible, in milliseconds. Default 30 000; at most 43 200 000 (12 h). */
  readonly visibilityTimeoutMs?: number;
  /** Delay applied to every message sent, in milliseconds. Default 0; at most 900 000 (15 min). */
  readonly delayMs?: number;
  /** Largest message accepted (body plus headers, UTF-8), in bytes. Default 1 048 576 (1 MiB). */
  readonly maxMessageBytes?: number;
  /** FIFO deduplication window on the idempotency key, in milliseconds. Default 300 000 (5 min). */
  readonly deduplicationWindowMs?: number;
  /**
   * Where `deadLetter` moves messages, and where messages received more than `maxReceiveCount`
   * times are moved (the redrive policy). Without it, `deadLetter` is unavailable.
   */
  readonly deadLetterQueue?: MemoryQueue;
  /** Receives after which a message is moved to `deadLetterQueue`. Default: no limit. */
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

const State = { Visible: 0, Delayed: 1, InFlight: 2, Gone: 3 } as const;
type State = (typeof State)[keyof typeof State];

/** @internal A message as the queue keeps it. */
export class Stored implements Deadlined {
  deadline = 0;
  heapIndex = -1;
  state: State = State.Visible;
  receiveCount = 0;
  firstReceivedAt = 0;
  /** Bumped on every receive, so settlement through an older delivery is ignored. */
  receipt = 0;
  readonly envelope: Envelope;
  readonly sequence: number;
  readonly group: Group | undefined;

  constructor(envelope: Envelope, sequence: number, group: Group | undefined) {
    this.envelope = envelope;
    this.sequence = sequence;
    this.group = group;
  }
}

/** A FIFO message group: its messages in order; the head may be in flight. */
interface Group {
  readonly id: string;
  readonly messages: Deque<Stored>;
  /** Whether the group sits in the ready list. */
  listed: boolean;
}

interface Waiter {
  wake(): void;
}

let queueCount = 0;

/**
 * Whether `envelope` may be larger than `maxBytes`. UTF-8 takes at most 3 bytes per UTF-16 code
 * unit, so most messages are cleared without encoding them to count their bytes.
 */
function mayExceed(envelope: Envelope, maxBytes: number): boolean {
  let units = envelope.body.length;
  for (const name in envelope.headers) units += name.length + (envelope.headers[name] as string).length;
  return units * 3 > maxBytes;
}

/**
 * An in-memory queue with the semantics of Amazon SQS: visibility timeouts, receive counts,
 * delays, redrive to a dead-letter queue, FIFO groups with deduplication, and long polling.
 * It is both a {@link Sender} and a {@link Receiver}. Create one with {@link memoryQueue}.
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
  readonly #deduplicationWindowMs: number;
  readonly #deadLetterQueue: MemoryQueue | undefined;
  readonly #maxReceiveCount: number;

  readonly #visible = new Deque<Stored>();
  readonly #groups = new Map<string, Group>();
  readonly #readyGroups = new Deque<Group>();
  readonly #deadlines = new DeadlineHeap<Stored>();
  readonly #deduplication = new Map<string, { id: string; expiresAt: number }>();
  readonly #waiters = new Deque<Waiter>();
  #sequence = 0;
  #counts = { visible: 0, inFlight: 0, delayed: 0 };
  #timer: TimerHandle | undefined;
  #timerAt = Number.POSITIVE_INFINITY;

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
    this.#maxMessageBytes = integerOption('maxMessageBytes', options.maxMessageBytes, SqsLimits.maxMessageBytes, 1);
    this.#deduplicationWindowMs = integerOption('deduplicationWindowMs', options.deduplicationWindowMs, 300_000, 0);
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
      const woken = await this.#wait(deadline - this.#clock.now(), options.signal);
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
    this.#releaseDue();
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
    for (const stored of this.#visible) forget(stored);
    for (const group of this.#groups.values()) for (const stored of group.messages) forget(stored);
    for (const stored of this.#deadlines.drain()) forget(stored);
    this.#visible.clear();
    this.#groups.clear();
    this.#readyGroups.clear();
    this.#counts = { visible: 0, inFlight: 0, delayed: 0 };
    this.#disarm();
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
    this.#arm();
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
    const size = mayExceed(envelope, this.#maxMessageBytes) ? envelopeSizeBytes(envelope) : 0;
    if (size > this.#maxMessageBytes) {
      return { status: 'permanent', id, error: new MessageTooLargeError(this.name, size, this.#maxMessageBytes) };
    }
    const delayMs = envelope.delayMs ?? this.#delayMs;
    if (!Number.isInteger(delayMs) || delayMs < 0 || delayMs > MAX_DELAY_MS) {
      return {
        status: 'permanent',
        id,
        error: new TransportError(
          this.name,
          `delayMs ${delayMs} is outside 0 to ${MAX_DELAY_MS} ms, the range SQS allows. Schedule longer waits elsewhere (a database, EventBridge Scheduler).`,
          false,
        ),
      };
    }
    let group: Group | undefined;
    if (this.#fifo) {
      if (!envelope.groupId) {
        return {
          status: 'permanent',
          id,
          error: new TransportError(
            this.name,
            `FIFO queue ${this.name} needs a groupId on every message. Pass groupId to send().`,
            false,
          ),
        };
      }
      if (envelope.delayMs !== undefined && !fromRedrive) {
        return {
          status: 'permanent',
          id,
          error: new TransportError(
            this.name,
            `FIFO queue ${this.name} does not support per-message delays (nor does SQS). Set delayMs on the queue instead.`,
            false,
          ),
        };
      }
      const duplicate = fromRedrive ? undefined : this.#deduplicate(envelope, now);
      if (duplicate) return { status: 'accepted', id: duplicate };
      group = this.#groupOf(envelope.groupId);
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
    group?.messages.push(record);
    if (delayMs > 0 && !fromRedrive) {
      record.state = State.Delayed;
      record.deadline = now + delayMs;
      this.#counts.delayed++;
      this.#deadlines.upsert(record);
      this.#arm();
    } else {
      this.#enqueueVisible(record);
    }
    return { status: 'accepted', id };
  }

  /** Returns the id of the message this one duplicates within the window, or records it. */
  #deduplicate(envelope: Envelope, now: number): string | undefined {
    // The window is the same for every key, so entries expire in insertion order.
    for (const [key, entry] of this.#deduplication) {
      if (entry.expiresAt > now) break;
      this.#deduplication.delete(key);
    }
    const seen = this.#deduplication.get(envelope.idempotencyKey);
    if (seen) return seen.id;
    this.#deduplication.set(envelope.idempotencyKey, { id: envelope.id, expiresAt: now + this.#deduplicationWindowMs });
    return undefined;
  }

  #groupOf(id: string): Group {
    let group = this.#groups.get(id);
    if (!group) {
      group = { id, messages: new Deque(), listed: false };
      this.#groups.set(id, group);
    }
    return group;
  }

  /** Makes `stored` receivable: FIFO messages through their group, when they head it. */
  #enqueueVisible(stored: Stored): void {
    stored.state = State.Visible;
    this.#counts.visible++;
    const group = stored.group;
    if (!group) {
      this.#visible.push(stored);
    } else if (group.messages.peek() === stored && !group.listed) {
      group.listed = true;
      this.#readyGroups.push(group);
    }
    this.#wakeOne();
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
    const group = stored.group;
    if (!group) return;
    group.messages.shift();
    const next = group.messages.peek();
    if (!next) this.#groups.delete(group.id);
    else if (next.state === State.Visible && !group.listed) {
      group.listed = true;
      this.#readyGroups.push(group);
      this.#wakeOne();
    }
  }

  #take(max: number, visibilityMs: number): Delivery[] {
    this.#releaseDue();
    const out: Delivery[] = [];
    const now = this.#clock.now();
    while (out.length < max) {
      const stored = this.#nextVisible();
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
    if (out.length > 0) this.#arm();
    return out;
  }

  #nextVisible(): Stored | undefined {
    if (!this.#fifo) return this.#visible.shift();
    const group = this.#readyGroups.shift();
    if (!group) return undefined;
    group.listed = false;
    return group.messages.peek();
  }

  /** Moves every message whose deadline has passed back to visible. */
  #releaseDue(): void {
    const now = this.#clock.now();
    for (let due = this.#deadlines.popDue(now); due; due = this.#deadlines.popDue(now)) {
      this.#makeVisible(due);
    }
  }

  /** Keeps the one timer armed for the earliest deadline, so long polls wake when messages return. */
  #arm(): void {
    const first = this.#deadlines.peek();
    if (!first || first.deadline >= this.#timerAt) return;
    this.#disarm();
    this.#timerAt = first.deadline;
    this.#timer = this.#clock.setTimeout(
      () => {
        this.#timer = undefined;
        this.#timerAt = Number.POSITIVE_INFINITY;
        this.#releaseDue();
        this.#arm();
      },
      Math.max(0, first.deadline - this.#clock.now()),
      { keepAlive: false },
    );
  }

  #disarm(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
  }

  #wakeOne(): void {
    this.#waiters.shift()?.wake();
  }

  /** Waits until a message may be visible (true) or `ms` passes or `signal` aborts (false). */
  #wait(ms: number, signal: AbortSignal | undefined): Promise<boolean> {
    if (ms <= 0 || signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (woken: boolean) => {
        this.#clock.clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        resolve(woken);
      };
      const waiter: Waiter = { wake: () => finish(true) };
      const onAbort = () => {
        this.#dropWaiter(waiter);
        finish(false);
      };
      // A caller awaiting a receive is pending work: this timer keeps the process alive.
      const timer = this.#clock.setTimeout(() => {
        this.#dropWaiter(waiter);
        finish(false);
      }, ms);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiters.push(waiter);
    });
  }

  #dropWaiter(waiter: Waiter): void {
    const kept = [...this.#waiters].filter((w) => w !== waiter);
    this.#waiters.clear();
    for (const w of kept) this.#waiters.push(w);
  }
}

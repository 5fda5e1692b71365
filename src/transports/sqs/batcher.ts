import type { Clock, TimerHandle } from '../../clock.ts';

/** Options of a {@link Batcher}. */
export interface BatcherOptions<Entry, Result> {
  /** Most entries per call. */
  readonly maxEntries: number;
  /** Most bytes per call, by `sizeOf`; default unlimited. */
  readonly maxBytes?: number;
  readonly sizeOf?: (entry: Entry) => number;
  /** How long the first entry of a batch waits for company, in milliseconds. */
  readonly lingerMs: number;
  readonly clock: Clock;
  /** Makes the call; resolves one result per entry, in order. A rejection fails every entry. */
  readonly flush: (entries: Entry[]) => Promise<Result[]>;
}

interface Pending<Entry, Result> {
  readonly entry: Entry;
  resolve(result: Result): void;
  reject(error: unknown): void;
}

/**
 * Coalesces entries added by concurrent callers into batched calls: a batch goes out when it is
 * full (by count or bytes) or when its first entry has waited `lingerMs`. SQS bills per request,
 * so ten messages in one `SendMessageBatch` or `DeleteMessageBatch` cost a tenth of ten calls.
 */
export class Batcher<Entry, Result> {
  readonly #options: BatcherOptions<Entry, Result>;
  #batch: Pending<Entry, Result>[] = [];
  #bytes = 0;
  #timer: TimerHandle | undefined;
  readonly #inFlight = new Set<Promise<void>>();

  constructor(options: BatcherOptions<Entry, Result>) {
    this.#options = options;
  }

  /** Adds an entry; resolves with its result once its batch was sent. */
  add(entry: Entry): Promise<Result> {
    const size = this.#options.sizeOf?.(entry) ?? 0;
    if (this.#batch.length > 0 && this.#bytes + size > (this.#options.maxBytes ?? Number.POSITIVE_INFINITY))
      this.#flush();
    return new Promise<Result>((resolve, reject) => {
      this.#batch.push({ entry, resolve, reject });
      this.#bytes += size;
      if (this.#batch.length >= this.#options.maxEntries) this.#flush();
      else if (this.#timer === undefined) {
        this.#timer = this.#options.clock.setTimeout(() => this.#flush(), this.#options.lingerMs);
      }
    });
  }

  /** Sends what is waiting now and resolves once every batch under way has been answered. */
  async drain(): Promise<void> {
    this.#flush();
    while (this.#inFlight.size > 0) await Promise.allSettled([...this.#inFlight]);
  }

  #flush(): void {
    if (this.#timer !== undefined) this.#options.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    const batch = this.#batch;
    if (batch.length === 0) return;
    this.#batch = [];
    this.#bytes = 0;
    const call = this.#options
      .flush(batch.map((pending) => pending.entry))
      .then(
        (results) => {
          for (let i = 0; i < batch.length; i++) (batch[i] as Pending<Entry, Result>).resolve(results[i] as Result);
        },
        (error: unknown) => {
          for (const pending of batch) pending.reject(error);
        },
      )
      .finally(() => this.#inFlight.delete(call));
    this.#inFlight.add(call);
  }
}

/**
 * The in-memory transport: a faithful model of Amazon SQS for local development, tests and
 * demos. Import from `missive/memory`.
 *
 * @module
 */
import { MemoryQueue, type MemoryQueueOptions } from './queue.ts';

export { ManualClock } from '../../manual-clock.ts';
export { MemoryQueue, type MemoryQueueOptions, type QueueCounts } from './queue.ts';

/**
 * Creates an in-memory queue with SQS semantics. It is both the sender a producer takes and the
 * receiver a consumer takes.
 *
 * @example
 * ```ts
 * import { memoryQueue } from 'missive/memory';
 *
 * const deadLetters = memoryQueue({ name: 'orders-dlq' });
 * const orders = memoryQueue({ name: 'orders', deadLetterQueue: deadLetters, visibilityTimeoutMs: 30_000 });
 * ```
 */
export function memoryQueue(options: MemoryQueueOptions = {}): MemoryQueue {
  return new MemoryQueue(options);
}

/**
 * Amazon SQS's limits. The in-memory queue keeps them too, so that code that works on one works
 * on the other, and the consumer validates against them. Each is a constant of its own, so a
 * bundle carries only the ones its code reads.
 *
 * @module
 */

/** Largest message: body plus attributes, in bytes (1 MiB). */
export const MAX_MESSAGE_BYTES = 1_048_576;
/** Entries per batch call. */
export const MAX_BATCH_ENTRIES = 10;
/** Longest delivery delay, in milliseconds (15 minutes). */
export const MAX_DELAY_MS = 900_000;
/** Longest visibility timeout, in milliseconds (12 hours). */
export const MAX_VISIBILITY_MS = 43_200_000;
/** Longest long-poll wait, in milliseconds. */
export const MAX_WAIT_MS = 20_000;

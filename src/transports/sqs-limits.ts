/**
 * Amazon SQS's limits. The in-memory queue keeps them too, so that code that works on one works
 * on the other, and the consumer validates against them.
 */
export const SqsLimits = {
  /** Largest message: body plus attributes, in bytes (1 MiB). */
  maxMessageBytes: 1_048_576,
  /** Entries per batch call. */
  maxBatchEntries: 10,
  /** Longest delivery delay, in milliseconds (15 minutes). */
  maxDelayMs: 900_000,
  /** Longest visibility timeout, in milliseconds (12 hours). */
  maxVisibilityMs: 43_200_000,
  /** Longest long-poll wait, in milliseconds. */
  maxWaitMs: 20_000,
} as const;

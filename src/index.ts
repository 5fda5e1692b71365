/**
 * Missive: reliable message delivery for Node.js backends. This entry point holds the message
 * model, the transport contract, and the reliability layer (producer, consumer, backoff, retry
 * budget, idempotency). Transports live in their own entry points: `missive/memory`, …
 *
 * @module
 */
export { type Clock, sleep, systemClock, type TimerHandle } from './clock.ts';
export { type Codec, jsonCodec } from './codec.ts';
export {
  ClosedError,
  CodecError,
  ConfigurationError,
  DuplicateInProgressError,
  ErrorCode,
  HttpStatusError,
  IdempotencyConflictError,
  IdempotencyStoreError,
  type IdempotencyStoreOperation,
  IdempotencyTableNotFoundError,
  InvalidMessageError,
  isMissiveError,
  isMissiveErrorCode,
  LeaseLapsedError,
  MessageTooLargeError,
  MissiveError,
  type MissiveErrorByCode,
  ResultNotCachedError,
  RetryBudgetExhaustedError,
  RetryLaterError,
  SendFailedError,
  TransportError,
  UnrecoverableError,
  type ValidationIssue,
  WebhookVerificationError,
  type WebhookVerificationReason,
} from './errors.ts';
export {
  FailureHeader,
  type FailureMetadata,
  FailureReason,
  readFailureHeaders,
  withFailureHeaders,
} from './failure.ts';
export { uuidv7 } from './id.ts';
export { ManualClock } from './manual-clock.ts';
export { type Envelope, envelopeSizeBytes, type Headers, type Message, type OutgoingEnvelope } from './message.ts';
export { type Backoff, type BackoffOptions, createBackoff, Jitter } from './reliability/backoff.ts';
export {
  type Consumer,
  type ConsumerOptions,
  type ConsumerStats,
  createConsumer,
  type Handler,
  type HandlerContext,
} from './reliability/consumer.ts';
export { type MemoryIdempotencyStoreOptions, memoryIdempotencyStore } from './reliability/idempotency/memory-store.ts';
export type { IdempotencyOptions } from './reliability/idempotency/step.ts';
export type { BeginOptions, BeginResult, IdempotencyStore, Lease } from './reliability/idempotency/store.ts';
export type { Endpoint, Instrumentation, ProcessStepOptions } from './reliability/instrumentation.ts';
export {
  type BatchItemResult,
  createProducer,
  type Producer,
  type ProducerOptions,
  type SendOptions,
} from './reliability/producer.ts';
export { createRetryBudget, type RetryBudget, type RetryBudgetOptions } from './reliability/retry-budget.ts';
export type { StandardSchemaV1 } from './schema.ts';
export type {
  Delivery,
  ReceiveOptions,
  Receiver,
  Sender,
  SendOutcome,
  TransportFeatures,
} from './transports/contract.ts';

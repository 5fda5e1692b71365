/**
 * The OpenTelemetry semantic-convention names Missive emits, kept here so an upgrade of the
 * conventions is one reviewed change. Messaging conventions as of semantic conventions 1.36.0
 * (messaging spans and metrics are still "development" status there). Names under `missive.`
 * are Missive's own, for what the conventions do not cover (attempts, settlement).
 *
 * @module
 */

/** The semantic-conventions version these names follow. */
export const SEMCONV_VERSION = '1.36.0';
/** The schema URL of that version, given to the tracer. */
export const SCHEMA_URL = `https://opentelemetry.io/schemas/${SEMCONV_VERSION}`;

export const ATTR_MESSAGING_SYSTEM = 'messaging.system';
export const ATTR_MESSAGING_DESTINATION_NAME = 'messaging.destination.name';
/** A low-cardinality name standing for many destinations (`TelemetryOptions.destinationTemplate`). */
export const ATTR_MESSAGING_DESTINATION_TEMPLATE = 'messaging.destination.template';
export const ATTR_MESSAGING_OPERATION_TYPE = 'messaging.operation.type';
export const ATTR_MESSAGING_OPERATION_NAME = 'messaging.operation.name';
export const ATTR_MESSAGING_MESSAGE_ID = 'messaging.message.id';
export const ATTR_MESSAGING_BATCH_MESSAGE_COUNT = 'messaging.batch.message_count';
export const ATTR_ERROR_TYPE = 'error.type';
/** The full queue URL of an SQS destination (its `messaging.destination.name` is the queue name). */
export const ATTR_AWS_SQS_QUEUE_URL = 'aws.sqs.queue.url';

/** `messaging.operation.type` values. */
export const MessagingOperationType = { Create: 'create', Send: 'send', Process: 'process' } as const;

/** `messaging.system` values: `aws_sqs` is the conventions' own; the others are Missive's. */
export const MessagingSystem = { AwsSqs: 'aws_sqs', Webhook: 'webhook', Memory: 'missive_memory' } as const;

// Missive's own attributes and events.
/** The delivery attempt a process span covers: 1 on first delivery (the receive count). */
export const ATTR_MISSIVE_ATTEMPT = 'missive.delivery.attempt';
/** How the attempt settled: `ack`, `retry`, `dead-letter` or `duplicate`. */
export const ATTR_MISSIVE_OUTCOME = 'missive.outcome';
/** Delay before the next attempt of a retried message, in milliseconds. */
export const ATTR_MISSIVE_RETRY_DELAY_MS = 'missive.retry.delay_ms';
/** Why a message was dead-lettered: a `FailureReason` (`attempts-exhausted`, `unrecoverable`, …). */
export const ATTR_MISSIVE_DEAD_LETTER_REASON = 'missive.dead_letter.reason';
/** The span event recorded when an attempt settles, with the outcome's attributes. */
export const EVENT_MISSIVE_SETTLE = 'missive.settle';

// Metrics.
/** Histogram of each send's duration, in seconds. */
export const METRIC_OPERATION_DURATION = 'messaging.client.operation.duration';
/** Counter of messages sent, unit `{message}`. */
export const METRIC_SENT_MESSAGES = 'messaging.client.sent.messages';
/** Counter of delivery attempts, unit `{message}`. */
export const METRIC_CONSUMED_MESSAGES = 'messaging.client.consumed.messages';
/** Histogram of each delivery attempt's duration, in seconds. */
export const METRIC_PROCESS_DURATION = 'messaging.process.duration';
/** Counter of attempts that ended in a retry, unit `{message}`. */
export const METRIC_MISSIVE_RETRIED = 'missive.messages.retried';
/** Counter of messages dead-lettered, unit `{message}`. */
export const METRIC_MISSIVE_DEAD_LETTERED = 'missive.messages.dead_lettered';
/** Counter of duplicate deliveries skipped by idempotency, unit `{message}`. */
export const METRIC_MISSIVE_DUPLICATES = 'missive.messages.duplicates';
/** Histogram of the time from a message's creation to the end of its successful attempt, in seconds. */
export const METRIC_MISSIVE_END_TO_END = 'missive.message.end_to_end.duration';
/** The bucket boundaries the conventions advise for the two duration metrics above, in seconds. */
export const MESSAGING_DURATION_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

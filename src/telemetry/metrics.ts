import { type Attributes, createNoopMeter, type Meter } from '@opentelemetry/api';
import type { Outcome } from '../reliability/pipeline.ts';
import * as semconv from './semconv.ts';

/**
 * Bucket boundaries of the end-to-end latency, in seconds: from milliseconds (a message handled
 * at once) to a day (one that waited out retries and backoff, or a backlog).
 */
const END_TO_END_BUCKETS_S = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1_800, 3_600, 7_200, 21_600, 86_400,
];

/** Messaging metrics: counts of sent and processed messages, and duration histograms, in seconds. */
export function createMetrics(meter: Meter) {
  const operationDuration = meter.createHistogram(semconv.METRIC_OPERATION_DURATION, {
    description: 'Duration of one send, retries and backoff included.',
    unit: 's',
    advice: { explicitBucketBoundaries: semconv.MESSAGING_DURATION_BUCKETS_S },
  });
  const sent = meter.createCounter(semconv.METRIC_SENT_MESSAGES, {
    description: 'Messages a producer sent (failed ones carry error.type, the error class).',
    unit: '{message}',
  });
  const consumed = meter.createCounter(semconv.METRIC_CONSUMED_MESSAGES, {
    description: 'Delivery attempts a consumer processed.',
    unit: '{message}',
  });
  const retried = meter.createCounter(semconv.METRIC_MISSIVE_RETRIED, {
    description: 'Delivery attempts that ended in a retry.',
    unit: '{message}',
  });
  const deadLettered = meter.createCounter(semconv.METRIC_MISSIVE_DEAD_LETTERED, {
    description: 'Messages moved to a dead-letter destination.',
    unit: '{message}',
  });
  const duplicates = meter.createCounter(semconv.METRIC_MISSIVE_DUPLICATES, {
    description: 'Deliveries skipped as duplicates of a completed key.',
    unit: '{message}',
  });
  // Explicit boundaries: the SDK's defaults (0, 5, 10 … 10 000) suit milliseconds, not seconds.
  const processDuration = meter.createHistogram(semconv.METRIC_PROCESS_DURATION, {
    description: 'Duration of one delivery attempt.',
    unit: 's',
    advice: { explicitBucketBoundaries: semconv.MESSAGING_DURATION_BUCKETS_S },
  });
  const endToEnd = meter.createHistogram(semconv.METRIC_MISSIVE_END_TO_END, {
    description: 'Time from message creation to the end of a successful attempt.',
    unit: 's',
    advice: { explicitBucketBoundaries: END_TO_END_BUCKETS_S },
  });
  return {
    /** False for the API's no-op meter (no meter provider registered when telemetry was created). */
    live: meter !== createNoopMeter(),
    /** One send of `seconds`; `failure` is the error's type when it failed. */
    sendTimed(attributes: Attributes, seconds: number, failure: string | undefined): void {
      operationDuration.record(
        seconds,
        failure === undefined ? attributes : { ...attributes, [semconv.ATTR_ERROR_TYPE]: failure },
      );
    },
    /** One send: `failed` of its messages not sent, with `failure` the (first) error's type. */
    sent(attributes: Attributes, accepted: number, failed: number, failure: string | undefined): void {
      if (accepted > 0) sent.add(accepted, attributes);
      if (failed > 0) sent.add(failed, { ...attributes, [semconv.ATTR_ERROR_TYPE]: failure ?? '_OTHER' });
    },
    /**
     * One attempt: its `outcome`, or undefined when a step threw `thrown`; `ageMs` is the message's
     * age at the end of it, on the consumer's clock.
     */
    processed(
      attributes: Attributes,
      outcome: Outcome | undefined,
      seconds: number,
      ageMs: number,
      thrown?: unknown,
    ): void {
      consumed.add(1, attributes);
      // The conventions ask for error.type on the duration of every failed attempt, and only then.
      const failure = outcome ? (outcome.status === 'ack' ? undefined : outcome.error) : thrown;
      processDuration.record(
        seconds,
        failure === undefined ? attributes : { ...attributes, [semconv.ATTR_ERROR_TYPE]: errorType(failure) },
      );
      if (!outcome) return;
      if (outcome.status === 'retry') retried.add(1, attributes);
      else if (outcome.status === 'dead-letter') deadLettered.add(1, attributes);
      else if (outcome.duplicate) duplicates.add(1, attributes);
      else endToEnd.record(Math.max(0, ageMs) / 1000, attributes);
    },
  };
}

/** The error's class name, for `error.type`; `_OTHER` (the conventions' fallback) for a thrown non-error. */
export function errorType(error: unknown): string {
  return error instanceof Error ? error.name : '_OTHER';
}

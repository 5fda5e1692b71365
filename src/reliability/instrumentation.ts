/**
 * The hooks producers and consumers call for telemetry. `missive/telemetry` implements them
 * with OpenTelemetry; the core never imports it, so without telemetry nothing is loaded.
 *
 * @module
 */
import type { Clock } from '../clock.ts';
import type { OutgoingEnvelope } from '../message.ts';
import type { Step } from './pipeline.ts';

/** What a producer or consumer tells telemetry about where messages go or come from. */
export interface Endpoint {
  /** The queue URL, queue name or webhook URL. */
  readonly name: string;
  /** The messaging system, for `messaging.system` (`aws_sqs`, `missive_memory`, `webhook`). */
  readonly system: string;
}

/** How the deliveries a {@link Instrumentation.process} step wraps come in. */
export interface ProcessStepOptions {
  /**
   * The consumer's clock: end-to-end latency is read on it, as the producer's clock stamped
   * `createdAt`. Default the system clock.
   */
  readonly clock?: Clock;
  /**
   * Whether the span active when an attempt starts belongs to that delivery: true (default) where
   * deliveries are pushed (a webhook request under an HTTP server's span, a Lambda invocation);
   * false for a consumer's own receive loop, which runs in whatever context was active when the
   * consumer was started.
   */
  readonly ambient?: boolean;
}

/** Telemetry hooks; create them with `missiveTelemetry()` from `missive/telemetry`. */
export interface Instrumentation {
  /**
   * Runs one send of `envelopes` inside a PRODUCER span, with the trace context written into
   * each envelope's headers. `send` receives the envelopes to pass to the transport.
   */
  send<T>(to: Endpoint, envelopes: OutgoingEnvelope[], send: (envelopes: OutgoingEnvelope[]) => Promise<T>): Promise<T>;
  /** The consumer step that wraps each delivery attempt in a CONSUMER span and records its outcome. */
  process(from: Endpoint, options?: ProcessStepOptions): Step;
  /**
   * Runs `start` outside any active span. A consumer starts its receive loops through it, so that
   * their transport calls (an instrumented AWS SDK's receives and deletes) do not join the trace
   * of whatever span was active when the consumer was started.
   */
  detached?(start: () => void): void;
}

import {
  type Attributes,
  type Baggage,
  type Context,
  context,
  isSpanContextValid,
  type Link,
  type MeterProvider,
  metrics,
  ProxyTracerProvider,
  propagation,
  ROOT_CONTEXT,
  type Span,
  type SpanContext,
  SpanKind,
  SpanStatusCode,
  type TextMapGetter,
  type Tracer,
  type TracerProvider,
  trace,
} from '@opentelemetry/api';
import { systemClock } from '../clock.ts';
import type { Headers, OutgoingEnvelope } from '../message.ts';
import type { Endpoint, Instrumentation } from '../reliability/instrumentation.ts';
import type { Outcome, ProcessContext } from '../reliability/pipeline.ts';
import { VERSION } from '../version.ts';
import { createMetrics, errorType } from './metrics.ts';
import { fromXRayHeader, XRAY_HEADER } from './propagation.ts';
import * as semconv from './semconv.ts';

/** Options of {@link missiveTelemetry}. */
export interface TelemetryOptions {
  /** Default the global tracer provider (`trace.setGlobalTracerProvider`, or the Node SDK's). */
  readonly tracerProvider?: TracerProvider;
  /** Default the global meter provider. */
  readonly meterProvider?: MeterProvider;
  /**
   * How a process span relates to the producer's span: `'link'` (default, as the messaging
   * conventions recommend: each delivery attempt starts its own trace, linked to the send) or
   * `'parent'` (the attempt joins the producer's trace as its child: one tree per message).
   */
  readonly consumerContext?: 'link' | 'parent';
  /**
   * Whether a batch send makes a PRODUCER create span per message, each message carrying its own
   * context, under a CLIENT send span linked to them all (default `true`, the conventions' shape
   * for batches). `false`: one PRODUCER send span per batch, whose context every message of the
   * batch carries. Turn it off for large batches: a `sendBatch` of 1 000 makes 1 001 spans, which
   * overflows a default `BatchSpanProcessor` queue (2 048 spans) under load, and the SDK keeps at
   * most 128 links per span by default.
   */
  readonly createSpans?: boolean;
  /**
   * A low-cardinality name for destinations and sources that come in great numbers (one webhook
   * URL per customer, say), as the conventions' `messaging.destination.template`: span names use
   * it, spans carry it beside `messaging.destination.name`, and metrics carry it instead of the
   * name (and queue URL), so each template is one metric series rather than one per URL. Return
   * undefined to keep an endpoint's own name. Default none.
   *
   * @example
   * ```ts
   * missiveTelemetry({ destinationTemplate: ({ system }) => (system === 'webhook' ? 'customer-webhooks' : undefined) });
   * ```
   */
  readonly destinationTemplate?: (endpoint: Endpoint) => string | undefined;
}

/** Most destinations whose attributes are kept built; past it, the cache starts over. */
const MAX_CACHED_DESTINATIONS = 1_024;

/** The API's no-op provider: what the global proxy delegates to while no SDK is registered. */
const NOOP_TRACER_PROVIDER = new ProxyTracerProvider().getDelegate();

/** Whether the global tracer provider is still the API's no-op one (no SDK registered yet). */
function noGlobalSdk(): boolean {
  const provider = trace.getTracerProvider();
  return provider instanceof ProxyTracerProvider && provider.getDelegate() === NOOP_TRACER_PROVIDER;
}

const headerGetter: TextMapGetter<Headers> = {
  get: (carrier, key) => carrier[key],
  keys: (carrier) => Object.keys(carrier),
};

/**
 * OpenTelemetry for producers, consumers and webhook receivers: a PRODUCER span per send with
 * the trace context written into every message's headers, a CONSUMER span per delivery
 * attempt linked to (or parented by) that context, settlement recorded on the span, and
 * messaging metrics. It depends only on `@opentelemetry/api`: with no SDK registered it costs
 * almost nothing. Telemetry never throws into delivery.
 *
 * @example
 * ```ts
 * const telemetry = missiveTelemetry();
 * const producer = createProducer({ transport: orders, telemetry });
 * const consumer = createConsumer({ transport: orders, telemetry, handler });
 * ```
 */
export function missiveTelemetry(options: TelemetryOptions = {}): Instrumentation {
  const tracer = (options.tracerProvider ?? trace.getTracerProvider()).getTracer('missive', VERSION, {
    schemaUrl: semconv.SCHEMA_URL,
  });
  const meter = (options.meterProvider ?? metrics.getMeterProvider()).getMeter('missive');
  const instruments = createMetrics(meter);
  const asParent = options.consumerContext === 'parent';
  const createSpans = options.createSpans ?? true;
  // Checked per message, so an SDK registered later is picked up at once; with one passed in, never.
  const untraced = options.tracerProvider ? () => false : noGlobalSdk;
  // A destination's attributes, built once: spans and metrics need them on every send. Keyed by
  // the system and the full name, as two queues of one name (regions, accounts) are two destinations.
  const sendDestinations = new Map<string, SendDestination>();
  const sendDestination = (to: Endpoint): SendDestination => {
    const key = `${to.system} ${to.name}`;
    let described = sendDestinations.get(key);
    if (!described) {
      const { name, attributes, metric } = destinationOf(to, options.destinationTemplate);
      described = {
        name,
        send: operationAttributes(attributes, semconv.MessagingOperationType.Send),
        create: operationAttributes(attributes, semconv.MessagingOperationType.Create),
        metric: { ...metric, [semconv.ATTR_MESSAGING_OPERATION_NAME]: 'send' },
      };
      // A sender per customer URL must not grow the cache without end.
      if (sendDestinations.size >= MAX_CACHED_DESTINATIONS) sendDestinations.clear();
      sendDestinations.set(key, described);
    }
    return described;
  };

  return {
    async send(to, envelopes, send) {
      if (untraced() && !instruments.live) return send(envelopes);
      const destination = sendDestination(to);
      const startedAt = performance.now();
      let span: Span;
      let traced: OutgoingEnvelope[];
      let active: Context;
      try {
        // A batch's messages carry their own create spans' contexts, not this span's: the
        // conventions then make the send a CLIENT span, and the create spans the PRODUCER ones.
        const perMessage = createSpans && envelopes.length > 1;
        span = tracer.startSpan(`send ${destination.name}`, {
          kind: perMessage ? SpanKind.CLIENT : SpanKind.PRODUCER,
          attributes: destination.send,
        });
        active = trace.setSpan(context.active(), span);
        if (span.isRecording()) {
          if (envelopes.length === 1)
            span.setAttribute(semconv.ATTR_MESSAGING_MESSAGE_ID, (envelopes[0] as OutgoingEnvelope).id);
          else span.setAttribute(semconv.ATTR_MESSAGING_BATCH_MESSAGE_COUNT, envelopes.length);
        }
        traced =
          perMessage && span.isRecording()
            ? withCreationContexts(tracer, span, active, destination, envelopes)
            : withTraceContext(active, envelopes);
      } catch {
        // A failing tracer must not stop a send: deliver untraced.
        return send(envelopes);
      }
      let results: Awaited<ReturnType<typeof send>> | undefined;
      let failure: string | undefined;
      try {
        results = await context.with(active, () => send(traced));
        return results;
      } catch (error) {
        failure = errorType(error);
        quietly(() => recordError(span, error));
        throw error;
      } finally {
        // The send has happened whatever telemetry does now: nothing here may throw.
        quietly(() => {
          if (results) {
            const failed = countFailed(results);
            if (failed > 0) {
              failure = firstErrorName(results);
              span.setStatus({
                code: SpanStatusCode.ERROR,
                message: `${failed} of ${envelopes.length} message(s) not sent`,
              });
              span.setAttribute(semconv.ATTR_ERROR_TYPE, failure);
            }
            instruments.sent(destination.metric, envelopes.length - failed, failed, failure);
          } else {
            // The whole send threw: none of its messages was sent.
            instruments.sent(destination.metric, 0, envelopes.length, failure);
          }
          span.end();
          // The same duration as the span's, as the conventions ask.
          instruments.sendTimed(destination.metric, (performance.now() - startedAt) / 1000, failure);
        });
      }
    },

    detached(start) {
      context.with(ROOT_CONTEXT, start);
    },

    process(from, processOptions = {}) {
      const clock = processOptions.clock ?? systemClock;
      const ambient = processOptions.ambient ?? true;
      const source = destinationOf(from, options.destinationTemplate);
      // Given when the span starts, so that samplers see them, as the conventions ask.
      const base = operationAttributes(source.attributes, semconv.MessagingOperationType.Process);
      const name = `process ${source.name}`;
      const processMetricAttributes: Attributes = {
        ...source.metric,
        [semconv.ATTR_MESSAGING_OPERATION_NAME]: 'process',
      };
      return (next) => {
        const traced = async (processing: ProcessContext, span: Span, parent: Context): Promise<Outcome> => {
          const { envelope, attempt } = processing.delivery;
          if (span.isRecording()) {
            span.setAttribute(semconv.ATTR_MESSAGING_MESSAGE_ID, envelope.id);
            span.setAttribute(semconv.ATTR_MISSIVE_ATTEMPT, attempt);
          }
          const startedAt = performance.now();
          let outcome: Outcome | undefined;
          let thrown: unknown;
          try {
            outcome = await context.with(trace.setSpan(parent, span), () => next(processing));
            return outcome;
          } catch (error) {
            thrown = error;
            quietly(() => recordError(span, error));
            throw error;
          } finally {
            // The handler has run whatever telemetry does now: nothing here may throw.
            quietly(() => {
              if (outcome && span.isRecording()) recordOutcome(span, outcome);
              span.end();
              instruments.processed(
                processMetricAttributes,
                outcome,
                (performance.now() - startedAt) / 1000,
                clock.now() - envelope.createdAt,
                thrown,
              );
            });
          }
        };

        return (processing) => {
          // No SDK and no meter provider: nothing to record, the attempt goes straight through.
          if (untraced() && !instruments.live) return next(processing);
          const { producer, baggage } = carriedContext(processing.delivery.envelope.headers);
          let parent = ambient ? context.active() : ROOT_CONTEXT;
          const links: Link[] = producer ? [{ context: producer }] : [];
          if (producer && asParent) {
            // The conventions: a process span parented on the creation context still links to it,
            // and to the span it would otherwise have been the child of (an HTTP server's, say).
            const around = trace.getSpanContext(parent);
            if (around && isSpanContextValid(around)) links.push({ context: around });
            parent = trace.setSpanContext(ROOT_CONTEXT, producer);
          }
          // The producer's baggage (with a baggage propagator registered) is the handler's too.
          if (baggage) parent = propagation.setBaggage(parent, baggage);
          let span: Span;
          try {
            span = tracer.startSpan(name, { kind: SpanKind.CONSUMER, links, attributes: base }, parent);
          } catch {
            // A failing tracer must not fail a delivery: process it untraced.
            return next(processing);
          }
          if (span.isRecording() || isSpanContextValid(span.spanContext())) return traced(processing, span, parent);
          // No SDK (the API's no-op tracer): nothing to record or propagate, so the attempt costs
          // one no-op span, and metrics only when a meter provider is registered.
          if (!instruments.live) return next(processing);
          const startedAt = performance.now();
          const record = (outcome: Outcome | undefined, thrown?: unknown) =>
            quietly(() =>
              instruments.processed(
                processMetricAttributes,
                outcome,
                (performance.now() - startedAt) / 1000,
                clock.now() - processing.delivery.envelope.createdAt,
                thrown,
              ),
            );
          // A step that threw is an attempt too, as on the traced path.
          return next(processing).then(
            (outcome) => {
              record(outcome);
              return outcome;
            },
            (error: unknown) => {
              record(undefined, error);
              throw error;
            },
          );
        };
      };
    },
  };
}

/**
 * What a message carries from its producer, as the registered propagator reads it: the span
 * context (W3C trace context, else an AWS X-Ray header) and the baggage.
 */
function carriedContext(headers: Headers): { producer?: SpanContext | undefined; baggage?: Baggage | undefined } {
  try {
    const extracted = propagation.extract(ROOT_CONTEXT, headers, headerGetter);
    const baggage = propagation.getBaggage(extracted);
    const producer = trace.getSpanContext(extracted);
    if (producer) return { producer, baggage };
    const xray = headers[XRAY_HEADER];
    return { producer: xray ? fromXRayHeader(xray) : undefined, baggage };
  } catch {
    return {};
  }
}

/** A destination of sends, with the attributes its spans start with and its metrics carry. */
interface SendDestination {
  readonly name: string;
  readonly send: Attributes;
  readonly create: Attributes;
  readonly metric: Attributes;
}

/** A destination's attributes with an operation's type and name (Missive names operations by their type). */
function operationAttributes(attributes: Attributes, operation: string): Attributes {
  return {
    ...attributes,
    [semconv.ATTR_MESSAGING_OPERATION_TYPE]: operation,
    [semconv.ATTR_MESSAGING_OPERATION_NAME]: operation,
  };
}

/**
 * The destination as the conventions name it: an SQS queue by its name (the URL goes into
 * `aws.sqs.queue.url`), anything else by what the transport reports.
 */
function destinationOf(
  endpoint: Endpoint,
  templateOf: TelemetryOptions['destinationTemplate'],
): { name: string; attributes: Attributes; metric: Attributes } {
  const attributes: Attributes = { [semconv.ATTR_MESSAGING_SYSTEM]: endpoint.system };
  let name = endpoint.name;
  if (endpoint.system === semconv.MessagingSystem.AwsSqs) {
    name = endpoint.name.slice(endpoint.name.lastIndexOf('/') + 1) || endpoint.name;
    attributes[semconv.ATTR_AWS_SQS_QUEUE_URL] = endpoint.name;
  }
  attributes[semconv.ATTR_MESSAGING_DESTINATION_NAME] = name;
  const template = templateOf?.(endpoint);
  if (template === undefined) return { name, attributes, metric: attributes };
  attributes[semconv.ATTR_MESSAGING_DESTINATION_TEMPLATE] = template;
  const metric = {
    [semconv.ATTR_MESSAGING_SYSTEM]: endpoint.system,
    [semconv.ATTR_MESSAGING_DESTINATION_TEMPLATE]: template,
  };
  return { name: template, attributes, metric };
}

/**
 * For a batch: one `create` span per message, each message carrying its own context, and the
 * send span linked to all of them (the conventions' shape for batch sends).
 */
function withCreationContexts(
  tracer: Tracer,
  send: Span,
  active: Context,
  destination: SendDestination,
  envelopes: OutgoingEnvelope[],
): OutgoingEnvelope[] {
  return envelopes.map((envelope) => {
    const create = tracer.startSpan(
      `create ${destination.name}`,
      { kind: SpanKind.PRODUCER, attributes: destination.create },
      active,
    );
    create.setAttribute(semconv.ATTR_MESSAGING_MESSAGE_ID, envelope.id);
    send.addLink({ context: create.spanContext() });
    const [traced] = withTraceContext(trace.setSpan(active, create), [envelope]);
    create.end();
    return traced as OutgoingEnvelope;
  });
}

/** Runs telemetry bookkeeping that must never disturb delivery. */
function quietly(action: () => void): void {
  try {
    action();
  } catch {
    // Telemetry never throws into the delivery path.
  }
}

/** Copies of the envelopes with the active context's propagation headers, or the same ones if there are none. */
function withTraceContext(active: Context, envelopes: OutgoingEnvelope[]): OutgoingEnvelope[] {
  const carrier: Record<string, string> = {};
  try {
    propagation.inject(active, carrier);
  } catch {
    return envelopes;
  }
  // No propagator registered (no SDK): nothing to add, and nothing copied.
  for (const _ in carrier)
    return envelopes.map((envelope) => ({ ...envelope, headers: { ...envelope.headers, ...carrier } }));
  return envelopes;
}

function recordOutcome(span: Span, outcome: Outcome): void {
  if (outcome.status === 'ack') {
    const settled = outcome.duplicate ? 'duplicate' : 'ack';
    span.setAttribute(semconv.ATTR_MISSIVE_OUTCOME, settled);
    span.addEvent(semconv.EVENT_MISSIVE_SETTLE, { [semconv.ATTR_MISSIVE_OUTCOME]: settled });
    return;
  }
  span.setAttribute(semconv.ATTR_ERROR_TYPE, outcome.error.name);
  span.setStatus({ code: SpanStatusCode.ERROR, message: outcome.error.message });
  if (outcome.status === 'retry') {
    span.setAttribute(semconv.ATTR_MISSIVE_OUTCOME, 'retry');
    span.addEvent(semconv.EVENT_MISSIVE_SETTLE, {
      [semconv.ATTR_MISSIVE_OUTCOME]: 'retry',
      [semconv.ATTR_MISSIVE_RETRY_DELAY_MS]: outcome.delayMs,
    });
  } else {
    span.setAttribute(semconv.ATTR_MISSIVE_OUTCOME, 'dead-letter');
    span.addEvent(semconv.EVENT_MISSIVE_SETTLE, {
      [semconv.ATTR_MISSIVE_OUTCOME]: 'dead-letter',
      [semconv.ATTR_MISSIVE_DEAD_LETTER_REASON]: outcome.reason,
    });
  }
}

function recordError(span: Span, error: unknown): void {
  const failure = error instanceof Error ? error : new Error(String(error));
  span.recordException(failure);
  span.setAttribute(semconv.ATTR_ERROR_TYPE, failure.name);
  span.setStatus({ code: SpanStatusCode.ERROR, message: failure.message });
}

function countFailed(results: unknown): number {
  if (!Array.isArray(results)) return 0;
  let failed = 0;
  for (const result of results) if ((result as { status?: string }).status === 'failed') failed++;
  return failed;
}

/**
 * The `error.type` of a send's first failed message: what the transport failed with (an
 * `HttpStatusError`, a `MessageTooLargeError`), rather than the producer's `SendFailedError` around it.
 */
function firstErrorName(results: unknown): string {
  const error = (results as { status?: string; error?: Error }[]).find((r) => r.status === 'failed')?.error;
  const cause = error?.name === 'SendFailedError' && error.cause instanceof Error ? error.cause : error;
  return cause?.name ?? '_OTHER';
}

export type { Endpoint, Instrumentation };

/**
 * OpenTelemetry for Missive: spans around every send and delivery attempt, trace context inside
 * the message, and messaging metrics. Import from `missive/telemetry`; it needs only
 * `@opentelemetry/api` (register an SDK to record anything).
 *
 * @module
 */
export { fromXRayHeader, XRAY_HEADER } from './propagation.ts';
export * as semconv from './semconv.ts';
export { type Endpoint, type Instrumentation, missiveTelemetry, type TelemetryOptions } from './tracing.ts';

/** SQS takes durations in whole seconds; Missive's are in milliseconds. */
import { MAX_WAIT_MS } from '../sqs-limits.ts';

const MAX_WAIT_SECONDS = MAX_WAIT_MS / 1000;

/** Milliseconds to whole seconds, rounded up (a delay is a minimum), within [0, max]. */
export function toSeconds(ms: number, max: number): number {
  return Math.min(max, Math.max(0, Math.ceil(ms / 1000)));
}

/** A long-poll wait in whole seconds, as SQS takes it. */
export function waitSeconds(waitTimeMs: number): number {
  return Math.min(MAX_WAIT_SECONDS, Math.ceil(Math.max(0, waitTimeMs) / 1000));
}

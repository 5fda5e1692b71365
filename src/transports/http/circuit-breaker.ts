/**
 * A per-endpoint circuit breaker. After `failureThreshold` failures in a row the circuit opens:
 * sends fail at once, without a request, for `openMs`. Then one probe is let through (half
 * open): a success closes the circuit, a failure opens it for another `openMs`. A dead endpoint
 * so costs one request per interval instead of one per message.
 *
 * @module
 */
import type { Clock } from '../../clock.ts';

/** Options of a circuit breaker. */
export interface CircuitBreakerOptions {
  /** Retryable failures in a row that open the circuit. Default 5; at least 1. */
  readonly failureThreshold?: number;
  /** How long the circuit stays open before a probe, in milliseconds. Default 30 000; at least 1. */
  readonly openMs?: number;
}

/** The breaker's state for one endpoint. */
export class CircuitBreaker {
  readonly #threshold: number;
  readonly #openMs: number;
  readonly #clock: Clock;
  #failures = 0;
  #openUntil = 0;
  #probing = false;

  constructor(threshold: number, openMs: number, clock: Clock) {
    this.#threshold = threshold;
    this.#openMs = openMs;
    this.#clock = clock;
  }

  /** Milliseconds until a request may be tried, or 0 when one may go now (it then counts as the probe). */
  waitMs(): number {
    if (this.#failures < this.#threshold) return 0;
    const remaining = this.#openUntil - this.#clock.now();
    if (remaining > 0 || this.#probing) return Math.max(remaining, 1);
    this.#probing = true;
    return 0;
  }

  /** Gives back a probe that was taken but never went out (aborted, or refused before sending). */
  abandoned(): void {
    this.#probing = false;
  }

  succeeded(): void {
    this.#failures = 0;
    this.#probing = false;
  }

  failed(): void {
    this.#failures++;
    this.#probing = false;
    if (this.#failures >= this.#threshold) this.#openUntil = this.#clock.now() + this.#openMs;
  }

  get state(): 'closed' | 'open' | 'half-open' {
    if (this.#failures < this.#threshold) return 'closed';
    return this.#openUntil > this.#clock.now() ? 'open' : 'half-open';
  }
}

/**
 * Exponential backoff with a cap and jitter, as pure functions. The ceiling for the delay after
 * failed attempt `n` is `min(maxDelayMs, initialDelayMs * multiplier^(n-1))`; jitter then picks
 * the actual delay below it, so that many clients failing together do not retry together.
 *
 * @module
 */
import { choiceOption, integerOption, numberOption } from '../options.ts';

/** How a delay is drawn below the exponential ceiling. */
export const Jitter = {
  /** Uniform in [0, ceiling]: spreads retries best (AWS's recommended default). */
  Full: 'full',
  /** Uniform in [ceiling / 2, ceiling]: never retries almost at once. */
  Equal: 'equal',
  /** Uniform in [initialDelayMs, 3 × previous delay], capped: AWS's "decorrelated jitter". */
  Decorrelated: 'decorrelated',
  /** Exactly the ceiling. Predictable; use only when a single client retries. */
  None: 'none',
} as const;

/** One of {@link Jitter}'s values. */
export type Jitter = (typeof Jitter)[keyof typeof Jitter];

/** Backoff options. Every delay is in milliseconds. */
export interface BackoffOptions {
  /** Ceiling of the first retry's delay, in milliseconds. Default 100; an integer, 0 or more. */
  readonly initialDelayMs?: number;
  /**
   * Largest delay ever returned, in milliseconds. Default 30 000, or `initialDelayMs` if that is
   * larger; an integer, at least `initialDelayMs`.
   */
  readonly maxDelayMs?: number;
  /** Growth of the ceiling per attempt. Default 2; 1 to 100. */
  readonly multiplier?: number;
  /** How the delay is drawn below the ceiling. Default `'full'`. */
  readonly jitter?: Jitter;
}

/** A validated backoff policy, its options filled with their defaults. */
export interface Backoff {
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly multiplier: number;
  readonly jitter: Jitter;
  /**
   * The delay before the retry that follows failed attempt `attempt` (1-based), in milliseconds.
   * `previousDelayMs` feeds decorrelated jitter; without it the previous attempt's ceiling is used.
   */
  delayMs(attempt: number, previousDelayMs?: number, random?: () => number): number;
  /** The range {@link Backoff.delayMs} draws from for `attempt`, in milliseconds. */
  bounds(attempt: number, previousDelayMs?: number): { readonly minMs: number; readonly maxMs: number };
}

/**
 * Validates `options` and returns a {@link Backoff}; an option out of range throws a
 * `ConfigurationError` named under `path` (default `backoff`, as in `backoff.maxDelayMs`).
 *
 * @example
 * ```ts
 * const backoff = createBackoff({ initialDelayMs: 200, maxDelayMs: 60_000 });
 * backoff.delayMs(3); // somewhere in [0, 800]
 * ```
 */
export function createBackoff(options: BackoffOptions = {}, path = 'backoff'): Backoff {
  const initialDelayMs = integerOption(`${path}.initialDelayMs`, options.initialDelayMs, 100, 0);
  const maxDelayMs = integerOption(
    `${path}.maxDelayMs`,
    options.maxDelayMs,
    Math.max(30_000, initialDelayMs),
    initialDelayMs,
  );
  const multiplier = numberOption(`${path}.multiplier`, options.multiplier, 2, 1, 100);
  const jitter = choiceOption(`${path}.jitter`, options.jitter, Jitter.Full, Object.values(Jitter));

  const ceiling = (attempt: number) => Math.min(maxDelayMs, initialDelayMs * multiplier ** Math.max(0, attempt - 1));

  const bounds = (attempt: number, previousDelayMs?: number) => {
    const top = ceiling(attempt);
    switch (jitter) {
      case Jitter.Full:
        return { minMs: 0, maxMs: top };
      case Jitter.Equal:
        return { minMs: top / 2, maxMs: top };
      case Jitter.None:
        return { minMs: top, maxMs: top };
      case Jitter.Decorrelated: {
        const previous = previousDelayMs ?? ceiling(attempt - 1);
        const low = Math.min(initialDelayMs, maxDelayMs);
        return { minMs: low, maxMs: Math.max(low, Math.min(maxDelayMs, 3 * previous)) };
      }
    }
  };

  return {
    initialDelayMs,
    maxDelayMs,
    multiplier,
    jitter,
    bounds,
    delayMs(attempt, previousDelayMs, random = Math.random) {
      const { minMs, maxMs } = bounds(attempt, previousDelayMs);
      return Math.round(minMs + random() * (maxMs - minMs));
    },
  };
}

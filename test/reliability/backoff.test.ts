import { ConfigurationError, createBackoff, Jitter } from 'missive';
import { describe, expect, it } from 'vitest';

describe('backoff', () => {
  it('doubles the ceiling per attempt up to the cap', () => {
    const backoff = createBackoff({ initialDelayMs: 100, maxDelayMs: 1_000, jitter: Jitter.None });
    expect([1, 2, 3, 4, 5, 6].map((attempt) => backoff.delayMs(attempt))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
  });

  it('draws full jitter uniformly between zero and the ceiling', () => {
    const backoff = createBackoff({ initialDelayMs: 100, maxDelayMs: 10_000 });
    expect(backoff.delayMs(3, undefined, () => 0)).toBe(0);
    expect(backoff.delayMs(3, undefined, () => 0.5)).toBe(200);
    expect(backoff.delayMs(3, undefined, () => 0.999_999)).toBe(400);
    expect(backoff.bounds(3)).toEqual({ minMs: 0, maxMs: 400 });
  });

  it('keeps equal jitter in the upper half of the ceiling', () => {
    const backoff = createBackoff({ initialDelayMs: 100, jitter: Jitter.Equal });
    expect(backoff.bounds(2)).toEqual({ minMs: 100, maxMs: 200 });
    expect(backoff.delayMs(2, undefined, () => 0)).toBe(100);
  });

  it('draws decorrelated jitter from the initial delay to three times the previous delay, capped', () => {
    const backoff = createBackoff({ initialDelayMs: 100, maxDelayMs: 2_000, jitter: Jitter.Decorrelated });
    expect(backoff.bounds(5, 300)).toEqual({ minMs: 100, maxMs: 900 });
    expect(backoff.bounds(5, 5_000)).toEqual({ minMs: 100, maxMs: 2_000 });
    // Without a previous delay (a consumer, across redeliveries) the previous ceiling stands in.
    expect(backoff.bounds(3)).toEqual({ minMs: 100, maxMs: 600 });
  });

  it('never leaves its bounds, whatever the random source returns', () => {
    for (const jitter of Object.values(Jitter)) {
      const backoff = createBackoff({ initialDelayMs: 50, maxDelayMs: 5_000, multiplier: 3, jitter });
      for (let attempt = 1; attempt < 20; attempt++) {
        for (const r of [0, 0.25, 0.5, 0.75, 0.999_999]) {
          const { minMs, maxMs } = backoff.bounds(attempt);
          const delay = backoff.delayMs(attempt, undefined, () => r);
          expect(delay).toBeGreaterThanOrEqual(Math.floor(minMs));
          expect(delay).toBeLessThanOrEqual(Math.ceil(maxMs));
        }
      }
    }
  });

  it.each([
    [{ initialDelayMs: -1 }, 'backoff.initialDelayMs'],
    [{ initialDelayMs: 500, maxDelayMs: 100 }, 'backoff.maxDelayMs'],
    [{ multiplier: 0.5 }, 'backoff.multiplier'],
    [{ jitter: 'gaussian' as Jitter }, 'backoff.jitter'],
  ])('rejects %o naming the option', (options, option) => {
    expect(() => createBackoff(options)).toThrow(ConfigurationError);
    expect(() => createBackoff(options)).toThrow(new RegExp(`Invalid option ${option.replace('.', '\\.')}`));
  });

  it('names the allowed jitter values in its error', () => {
    expect(() => createBackoff({ jitter: 'gaussian' as Jitter })).toThrow(
      "Invalid option backoff.jitter: \"gaussian\". Expected one of 'full', 'equal', 'decorrelated', 'none'.",
    );
  });
});

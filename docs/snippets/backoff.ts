import { createBackoff, Jitter } from 'missive';

export function main() {
  const ranges: Record<string, { minMs: number; maxMs: number }[]> = {};
  for (const jitter of Object.values(Jitter)) {
    const backoff = createBackoff({ initialDelayMs: 100, maxDelayMs: 1_000, multiplier: 2, jitter });
    // bounds(n): the range the delay after failed attempt n is drawn from, in ms.
    ranges[jitter] = [1, 2, 3, 4, 5].map((attempt) => backoff.bounds(attempt));
  }
  // delayMs(n) draws from that range; pass a random source to make it repeatable.
  const drawn = createBackoff({ jitter: Jitter.Full }).delayMs(3, undefined, () => 0.5);
  return { ranges, drawn };
}

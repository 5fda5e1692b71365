/** bench/sqs.ts's settings: what the environment overrides, and the defaults. */
import { choicesFromEnv, intFromEnv } from '../lib.ts';

/** Messages per throughput run (producer and consumer alike). */
export const MESSAGES = intFromEnv('BENCH_MESSAGES', 8_000);
export const RUNS = intFromEnv('BENCH_RUNS', 5);
/** Latency runs per side (each LATENCY_MESSAGES sends at LATENCY_RATE). */
export const LATENCY_RUNS = intFromEnv('BENCH_LATENCY_RUNS', 3);
/** The throughput warm-up run: JIT, sockets, fauxqs's own warm-up. */
export const WARMUP_MESSAGES = intFromEnv('BENCH_WARMUP_MESSAGES', 5_000);
/** Messages in flight on the producer side: concurrent `send()` callers, and 10x the raw loops. */
export const SENDERS = intFromEnv('BENCH_SENDERS', 50);
export const CONCURRENCY = intFromEnv('BENCH_CONCURRENCY', 50);
export const BATCH_SIZE = intFromEnv('BENCH_BATCH_SIZE', 10);
/** Raw receive loops: the pollers the consumer runs by default. */
export const POLLERS = Math.ceil(CONCURRENCY / BATCH_SIZE);
/** The most messages per steady run; paced runs send at most STEADY_SECONDS worth. */
export const STEADY_MESSAGES = intFromEnv('BENCH_STEADY_MESSAGES', 10_000);
/** How long each steady-phase handler takes, in milliseconds (slow handlers shrink batches). */
export const HANDLER_MS = intFromEnv('BENCH_HANDLER_MS', 0);
export const STEADY_SECONDS = 4;
/** Runs at the headline rate (the median is reported); the other rates run once. */
export const STEADY_RUNS = intFromEnv('BENCH_STEADY_RUNS', 3);
/** Steady-phase producer rates in msg/s; `max` sends flat out with SENDERS concurrent senders. */
export const STEADY_RATES: (number | 'max')[] = (process.env.BENCH_STEADY_RATES ?? '500,1000,2000,max')
  .split(',')
  .map((rate) => rate.trim())
  .map((rate) => (rate === 'max' ? 'max' : Number(rate)));
for (const rate of STEADY_RATES)
  if (rate !== 'max' && !(Number.isInteger(rate) && rate > 0)) throw new Error(`Bad BENCH_STEADY_RATES entry ${rate}`);
/** The steady run requestsPerMessage reports (the others are in the breakdown). */
export const HEADLINE_RATE = process.env.BENCH_HEADLINE_RATE ?? '2000';
if (!STEADY_RATES.map(String).includes(HEADLINE_RATE))
  throw new Error(`BENCH_HEADLINE_RATE ${HEADLINE_RATE} is not one of BENCH_STEADY_RATES (${STEADY_RATES.join(',')})`);
export const LATENCY_RATE = intFromEnv('BENCH_LATENCY_RATE', 500);
/** Sends per latency run and side; runs alternate raw and missive. */
export const LATENCY_MESSAGES = intFromEnv('BENCH_LATENCY_MESSAGES', 1_000);
/** The transport's batchLingerMs: its default (5) unless BENCH_LINGER_MS overrides it. */
export const LINGER_OVERRIDE = process.env.BENCH_LINGER_MS ? intFromEnv('BENCH_LINGER_MS', 5) : undefined;
export const LINGER_MS = LINGER_OVERRIDE ?? 5;
/** An empty receive answered this much sooner than its WaitTimeSeconds did not wait out its long poll. */
export const EARLY_EMPTY_MARGIN_MS = 500;
export const RUN_TIMEOUT_MS = intFromEnv('BENCH_RUN_TIMEOUT_MS', 30_000);
export const ALL_PHASES = ['throughput', 'steady', 'latency'] as const;
export type Phase = (typeof ALL_PHASES)[number];
export const PHASES: Phase[] = choicesFromEnv('BENCH_PHASES', ALL_PHASES, 'phase');
if (SENDERS % 10 !== 0) throw new Error('BENCH_SENDERS must be a multiple of 10 (raw loops send batches of 10)');

export interface Body {
  readonly n: number;
}

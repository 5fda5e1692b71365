/** bench/http.ts's settings: what the environment overrides, the defaults, and the modes. */
import { choicesFromEnv, intFromEnv } from '../lib.ts';

export const REQUESTS = intFromEnv('BENCH_REQUESTS', 60_000);
export const RUNS = intFromEnv('BENCH_RUNS', 5);
export const WARMUP_RUNS = intFromEnv('BENCH_WARMUP_RUNS', 2);
export const WARMUP_REQUESTS = intFromEnv('BENCH_WARMUP_REQUESTS', 5_000);
/** Concurrent callers, and connections in both modes. */
export const CONCURRENCY = intFromEnv('BENCH_CONCURRENCY', 32);
export const RUN_TIMEOUT_MS = intFromEnv('BENCH_RUN_TIMEOUT_MS', 30_000);
/** The whole bench fails after this long, whatever it is doing. */
export const TIMEOUT_MS = intFromEnv('BENCH_TIMEOUT_MS', 180_000);
export const TARGET_RATIO = 0.8;
export const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
export const PATH = '/hooks/orders';
export const ALL_MODES = ['full', 'baseline', 'raw-signed'] as const;
export type Mode = (typeof ALL_MODES)[number];
export const MODES = choicesFromEnv('BENCH_MODES', ALL_MODES, 'mode');

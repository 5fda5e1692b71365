/** bench/tracing.ts's settings, modes, and what a child process reports. */
import type * as Missive from '../../src/index.ts';
import type * as MissiveTelemetry from '../../src/telemetry/index.ts';
import type * as MissiveMemory from '../../src/transports/memory/index.ts';
import { intFromEnv } from '../lib.ts';

export const MESSAGES = intFromEnv('BENCH_MESSAGES', 200_000);
/**
 * The warm-up run of each child process, as long as the measured one by default: after a
 * 50 000-message warm-up, a 200 000-message run of the untraced layer measured at half the speed
 * it reaches after a full-size one (the heap has not grown to the backlog yet), so a shorter
 * warm-up would bill heap growth to whichever mode it hits hardest.
 */
export const WARMUP_MESSAGES = intFromEnv('BENCH_WARMUP_MESSAGES', MESSAGES);
export const RUNS = intFromEnv('BENCH_RUNS', 5);
export const CONCURRENCY = intFromEnv('BENCH_CONCURRENCY', 256);
export const BATCH_SIZE = intFromEnv('BENCH_BATCH_SIZE', 256);
export const SEND_CHUNK = intFromEnv('BENCH_SEND_CHUNK', 1_000);
// A one-message send is traced differently (no batch attributes, no create spans): the floor mirrors batches only.
if (SEND_CHUNK < 2) throw new Error('BENCH_SEND_CHUNK must be at least 2');
export const WARMUPS = intFromEnv('BENCH_WARMUPS', 1);
export const WAIT_TIME_MS = 50;
/** A run that has not finished after this long fails the bench (a lost message, a stuck consumer). */
export const RUN_TIMEOUT_MS = intFromEnv('BENCH_RUN_TIMEOUT_MS', 30_000);
export const DESTINATION = 'bench';

export const ALL_MODES = ['untraced', 'no-sdk', 'traced', 'sdk-floor'] as const;
export type Mode = (typeof ALL_MODES)[number];
export const SDK_MODES: readonly Mode[] = ['traced', 'sdk-floor'];

/** What a child reports to the parent. */
export interface ChildReport {
  readonly mode: Mode;
  readonly messagesPerSecond: number;
  readonly elapsedMs: number;
  /** Messages per second of CPU time (all threads of the process), less sensitive than wall time to other load. */
  readonly cpuMessagesPerSecond: number;
  readonly warmupMessagesPerSecond: number[];
  /** Spans the exporter received in the measured run (SDK modes). */
  readonly spans?: number | undefined;
  /** The shape of each kind of span, by kind and name (SDK modes). */
  readonly shapes?: Record<string, string>;
  /** How Missive traces a batch send (SDK modes): see probeBatchShape. */
  readonly batchShape?: 'send' | 'create' | undefined;
}

/** The measured src/'s entry points a child uses, in one object. */
export type MissiveModules = typeof Missive & typeof MissiveMemory & typeof MissiveTelemetry;

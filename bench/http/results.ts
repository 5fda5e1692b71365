/** bench/http.ts's results: the figures written to bench/results/http.json, and the table printed. */
import { environment, median, writeResults } from '../lib.ts';
import { CONCURRENCY, MODES, type Mode, REQUESTS, RUNS, TARGET_RATIO, WARMUP_REQUESTS, WARMUP_RUNS } from './config.ts';
import { meanBodyBytes } from './events.ts';

/** What one measured run recorded. */
export interface Sample {
  readonly messagesPerSecond: number;
  readonly clientCpuUsPerMessage: number;
  /** Server CPU time / wall time over the run, 0 to 1. */
  readonly serverCpuShare: number;
  readonly requests: number;
  readonly connections: number;
}

/** Computes, prints and writes the results of `samples` (per mode); the bench began at `benchStart`. */
export function reportResults(samples: Record<Mode, Sample[]>, benchStart: number): void {
  const medianOf = (mode: Mode, pick: (sample: Sample) => number) =>
    samples[mode].length ? median(samples[mode].map(pick)) : null;
  const rate = (mode: Mode) => {
    const value = medianOf(mode, (s) => s.messagesPerSecond);
    return value === null ? null : Math.round(value);
  };
  const cpuPerMessage = (mode: Mode) => {
    const value = medianOf(mode, (s) => s.clientCpuUsPerMessage);
    return value === null ? null : Number(value.toFixed(2));
  };
  const serverShare = (mode: Mode) => {
    const value = medianOf(mode, (s) => s.serverCpuShare);
    return value === null ? null : Number(value.toFixed(3));
  };
  const messagesPerSecond = rate('full');
  const baselineMessagesPerSecond = rate('baseline');
  const ratio =
    messagesPerSecond !== null && baselineMessagesPerSecond
      ? Number((messagesPerSecond / baselineMessagesPerSecond).toFixed(4))
      : null;
  const rawSignedMessagesPerSecond = rate('raw-signed');
  const clientCpuUsPerMessage = cpuPerMessage('full');
  const baselineClientCpuUsPerMessage = cpuPerMessage('baseline');

  const results = {
    messagesPerSecond,
    baselineMessagesPerSecond,
    ratio,
    target: { ratio: TARGET_RATIO, met: ratio !== null && ratio >= TARGET_RATIO },
    rawSignedMessagesPerSecond,
    ratioToRawSigned:
      messagesPerSecond !== null && rawSignedMessagesPerSecond
        ? Number((messagesPerSecond / rawSignedMessagesPerSecond).toFixed(4))
        : null,
    clientCpuUsPerMessage,
    baselineClientCpuUsPerMessage,
    rawSignedClientCpuUsPerMessage: cpuPerMessage('raw-signed'),
    cpuRatio:
      clientCpuUsPerMessage !== null && baselineClientCpuUsPerMessage
        ? Number((baselineClientCpuUsPerMessage / clientCpuUsPerMessage).toFixed(4))
        : null,
    serverCpuShare: {
      full: serverShare('full'),
      baseline: serverShare('baseline'),
      'raw-signed': serverShare('raw-signed'),
    },
    statistic:
      'median of the runs; msg/s = requests / elapsed; client CPU = user + system CPU time of the sending process ' +
      'over the timed part / requests; serverCpuShare = the server process CPU time / wall time (1 = a core saturated)',
    requestsPerRun: REQUESTS,
    runs: RUNS,
    warmupRuns: WARMUP_RUNS,
    warmupRequests: WARMUP_REQUESTS,
    concurrency: CONCURRENCY,
    connections: CONCURRENCY,
    meanBodyBytes,
    counts: Object.fromEntries(
      Object.entries(samples).map(([mode, list]) => [
        mode,
        list.map((s) => ({ expected: REQUESTS, received: s.requests, connections: s.connections })),
      ]),
    ),
    samples: Object.fromEntries(
      Object.entries(samples).map(([mode, list]) => [
        mode,
        {
          messagesPerSecond: list.map((s) => Math.round(s.messagesPerSecond)),
          clientCpuUsPerMessage: list.map((s) => Number(s.clientCpuUsPerMessage.toFixed(2))),
          serverCpuShare: list.map((s) => Number(s.serverCpuShare.toFixed(3))),
        },
      ]),
    ),
    modes: {
      full: 'createProducer + webhookTarget (JSON, UUIDv7, HMAC-SHA256 signature, Missive headers, retry layer, circuit breaker)',
      baseline:
        'raw undici Pool: POST JSON.stringify(event) with content-type, response drained; no signing, no retries',
      'raw-signed':
        'raw undici Pool with the headers Missive sends, HMAC-SHA256 signed by node:crypto (key imported once); no retries',
    },
    server:
      'node:http on 127.0.0.1 in a child process; reads the body, answers 204, keep-alive (keepAliveTimeout 120 s)',
    ...environment(),
    durationSeconds: Number(((performance.now() - benchStart) / 1000).toFixed(1)),
    timestamp: new Date().toISOString(),
  };

  const format = (value: number | null, digits = 0) =>
    value === null
      ? '-'
      : value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
  console.log(
    `missive webhook delivery: ${REQUESTS.toLocaleString('en-US')} requests per run, median of ${RUNS} runs, ` +
      `${CONCURRENCY} concurrent senders and connections, ~${meanBodyBytes}-byte JSON bodies, node ${process.version}`,
  );
  console.log(
    `${'mode'.padEnd(34)} ${'msg/s'.padStart(9)} ${'vs baseline'.padStart(12)} ${'client µs/msg'.padStart(14)} ${'server CPU'.padStart(11)}`,
  );
  const row = (name: string, mode: Mode) => {
    const value = rate(mode);
    const share = value !== null && baselineMessagesPerSecond ? value / baselineMessagesPerSecond : null;
    const server = serverShare(mode);
    console.log(
      `${name.padEnd(34)} ${format(value).padStart(9)} ${(share === null ? '-' : `${(share * 100).toFixed(1)}%`).padStart(12)} ` +
        `${format(cpuPerMessage(mode), 1).padStart(14)} ${(server === null ? '-' : `${(server * 100).toFixed(0)}%`).padStart(11)}`,
    );
  };
  if (MODES.includes('baseline')) row('baseline (raw undici Pool)', 'baseline');
  if (MODES.includes('raw-signed')) row('raw Pool, same headers, signed', 'raw-signed');
  if (MODES.includes('full')) row('full sender (producer + webhook)', 'full');
  if (ratio !== null)
    console.log(
      `target ratio ≥ ${TARGET_RATIO}: ${results.target.met ? 'met' : 'not met'} (ratio ${ratio.toFixed(3)})`,
    );
  writeResults('http', results);
}

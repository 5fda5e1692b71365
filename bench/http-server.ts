/**
 * The webhook receiver of bench/http.ts, in a process of its own so that it does not share an
 * event loop (or a core) with the client under test. Started with `fork()`, it listens on
 * 127.0.0.1 on a free port and sends `{ port }` to its parent over IPC.
 *
 * Every request is read to its end, counted, and answered 204 on a kept-alive connection. It
 * does as little as it can per request, so that the client, not this server, is what limits the
 * throughput; its CPU time per run is reported so the parent can tell. Over IPC, the parent
 * sends `{ id, cmd: 'reset' }` before a run and `{ id, cmd: 'stats' }` after it; each is
 * answered `{ id, ...Stats }`, the counts since the last reset.
 *
 * One request in SAMPLE_EVERY that carries `webhook-signature` has its signature checked (the
 * secret comes in BENCH_SECRET): a bench that posted unsigned or wrongly signed requests would
 * measure the wrong thing.
 *
 * It stops on SIGTERM or SIGINT, and when the IPC channel closes (the parent exited or
 * crashed), so it never outlives the bench.
 */
import { createHmac } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

if (!process.send) {
  console.error('bench/http-server.ts reports its port over IPC: start it with child_process.fork()');
  process.exit(2);
}
const send = process.send.bind(process);

const SAMPLE_EVERY = 97;
const secret = process.env.BENCH_SECRET ?? '';
const key = secret.startsWith('whsec_') ? Buffer.from(secret.slice(6), 'base64') : Buffer.from(secret);

/** Counts since the last reset. */
export interface Stats {
  /** Requests answered. */
  requests: number;
  /** Body bytes received. */
  bodyBytes: number;
  /** Requests with a `webhook-signature` header, and of those sampled, how many did not verify. */
  signed: number;
  sampled: number;
  badSignatures: number;
  /** Requests that were not `POST` with `content-type: application/json`. */
  malformed: number;
  /** Distinct connections that carried requests. */
  connections: number;
  /** This process's CPU time (user + system) and the wall time since the reset, in microseconds. */
  cpuUs: number;
  wallUs: number;
}

let stats: Stats;
let cpuAtReset: NodeJS.CpuUsage;
let wallAtReset: number;
let seenSockets = new WeakSet<object>();
function reset(): void {
  stats = {
    requests: 0,
    bodyBytes: 0,
    signed: 0,
    sampled: 0,
    badSignatures: 0,
    malformed: 0,
    connections: 0,
    cpuUs: 0,
    wallUs: 0,
  };
  seenSockets = new WeakSet();
  cpuAtReset = process.cpuUsage();
  wallAtReset = performance.now();
}
reset();

function verifies(headers: IncomingMessage['headers'], body: Buffer): boolean {
  const id = headers['webhook-id'];
  const timestamp = headers['webhook-timestamp'];
  const signatures = String(headers['webhook-signature']);
  const expected = createHmac('sha256', key).update(`${id}.${timestamp}.`).update(body).digest('base64');
  return signatures.split(' ').includes(`v1,${expected}`);
}

const server = createServer((req: IncomingMessage, res: ServerResponse) => {
  const chunks: Buffer[] = [];
  let bytes = 0;
  req.on('data', (chunk: Buffer) => {
    chunks.push(chunk);
    bytes += chunk.length;
  });
  req.on('end', () => {
    stats.requests++;
    stats.bodyBytes += bytes;
    if (!seenSockets.has(req.socket)) {
      seenSockets.add(req.socket);
      stats.connections++;
    }
    if (req.method !== 'POST' || req.headers['content-type'] !== 'application/json') stats.malformed++;
    if (req.headers['webhook-signature'] !== undefined) {
      stats.signed++;
      if (stats.signed % SAMPLE_EVERY === 1) {
        stats.sampled++;
        if (!verifies(req.headers, Buffer.concat(chunks))) stats.badSignatures++;
      }
    }
    res.writeHead(204).end();
  });
});
// Generous timeouts: connections stay open across and between runs.
server.keepAliveTimeout = 120_000;
server.headersTimeout = 125_000;
server.requestTimeout = 0;

process.on('message', (message: { id: number; cmd: 'reset' | 'stats' }) => {
  if (message.cmd === 'reset') reset();
  const cpu = process.cpuUsage(cpuAtReset);
  stats.cpuUs = cpu.user + cpu.system;
  stats.wallUs = Math.round((performance.now() - wallAtReset) * 1000);
  send({ id: message.id, ...stats });
});

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(0), 1_000).unref();
  server.closeAllConnections();
  server.close(() => process.exit(0));
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);

server.listen(0, '127.0.0.1', () => {
  send({ port: (server.address() as AddressInfo).port });
});

/**
 * The fauxqs SQS emulator in a process of its own, for bench/sqs.ts: started with `fork()`, it
 * listens on 127.0.0.1 on a free port and sends `{ endpoint }` to its parent over IPC. It stops
 * on SIGTERM or SIGINT, and when the IPC channel closes (the parent exited or crashed), so it
 * never outlives the bench.
 *
 * `buildApp` + `listen` rather than `startFauxqs`: the latter always binds to 0.0.0.0.
 */
import { buildApp } from 'fauxqs';

if (!process.send) {
  console.error('bench/fauxqs-server.ts reports its endpoint over IPC: start it with child_process.fork()');
  process.exit(2);
}

const app = buildApp({ logger: false });
const endpoint = await app.listen({ port: 0, host: '127.0.0.1' });

let stopping = false;
const stop = () => {
  if (stopping) return;
  stopping = true;
  // A close hanging on an open long poll must not keep the process alive.
  setTimeout(() => process.exit(0), 1_000).unref();
  app.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
process.on('disconnect', stop);

process.send({ endpoint });

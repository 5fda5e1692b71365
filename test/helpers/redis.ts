/**
 * Starts a throwaway `redis-server` (Debian's; `.ci/run` installs it) on 127.0.0.1 and a free
 * port, with persistence off. Used by the test setup and by the stores benchmark.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';

/** A running Redis server. */
export interface RedisServer {
  /** `redis://127.0.0.1:<port>`. */
  readonly url: string;
  readonly port: number;
  /** Stops the server and waits for it to exit. */
  stop(): Promise<void>;
}

/**
 * Spawns `redis-server` (or `$REDIS_SERVER`) and resolves once it answers `PING`. A port taken
 * between choosing and binding is retried with another.
 */
export async function startRedis(): Promise<RedisServer> {
  let lastError: unknown;
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort();
    const child = spawn(
      process.env.REDIS_SERVER ?? 'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', tmpdir()],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let output = '';
    const collect = (chunk: Buffer) => {
      output = (output + chunk.toString()).slice(-4_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    const exited = once(child, 'exit').then(([code, signal]) => ({ code, signal }));
    const spawnFailed = once(child, 'error').then(([error]) => error as Error);
    try {
      await Promise.race([
        answersPing(port),
        exited.then(({ code, signal }) => {
          throw new Error(`redis-server exited (${code ?? signal}) before answering PING:\n${output}`);
        }),
        spawnFailed.then((error) => {
          throw new Error(
            `Could not start redis-server (${error.message}). Install it: apt-get install -y redis-server`,
          );
        }),
      ]);
    } catch (error) {
      lastError = error;
      child.kill('SIGKILL');
      continue;
    }
    return server(child, port, exited);
  }
  throw lastError;
}

function server(child: ChildProcess, port: number, exited: Promise<unknown>): RedisServer {
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

/** A port nobody listened on a moment ago. */
async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const address = probe.address();
  probe.close();
  if (address === null || typeof address === 'string') throw new Error('No TCP address for the port probe');
  return address.port;
}

/** Resolves when a server on `port` answers `PING` with `+PONG`; retries for 10 s of real time. */
async function answersPing(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    if (await ping(port)) return;
    if (Date.now() > deadline) throw new Error(`redis-server on port ${port} did not answer PING within 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.on('error', () => done(false));
    socket.on('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

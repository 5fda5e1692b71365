/**
 * A server the bench forks into a process of its own (fauxqs for bench/sqs.ts, the webhook
 * receiver for bench/http.ts), so that it gets an event loop and a core apart from the code under
 * test. The server reports that it is ready with its first IPC message.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { fail } from '../lib.ts';

/** A forked server: its process, what its first message reported, and how to stop it. */
export interface ForkedServer<Ready> {
  readonly child: ChildProcess;
  readonly ready: Ready;
  /** SIGTERM, then SIGKILL if it has not exited after 3 s. */
  stop(): Promise<void>;
}

/**
 * Forks `file` and waits up to 10 s for its first IPC message, which `ready` turns into what the
 * server reported (undefined: not the message expected). The child gets none of this process's
 * flags (`--cpu-prof` would profile it too). Once started, a server that exits before `stop()`
 * fails the bench; one still running when the bench exits or is interrupted is killed.
 */
export async function forkServer<Ready>(
  file: string,
  name: string,
  ready: (message: unknown) => Ready | undefined,
  env?: NodeJS.ProcessEnv,
): Promise<ForkedServer<Ready>> {
  const child = fork(file, [], {
    execArgv: [],
    ...(env ? { env } : {}),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  killChildOnExit(() => child);
  const reported = await new Promise<Ready>((resolveReady, reject) => {
    const timer = setTimeout(() => reject(new Error(`the ${name} process did not start within 10 s`)), 10_000);
    child.once('message', (message) => {
      clearTimeout(timer);
      const value = ready(message);
      if (value !== undefined) resolveReady(value);
      else reject(new Error(`unexpected message from the ${name} process: ${JSON.stringify(message)}`));
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(new Error(`the ${name} process exited before it started (code ${code}, signal ${signal})`));
    });
  });
  let stopping = false;
  child.on('exit', (code, signal) => {
    if (!stopping) fail(name, [`the ${name} process exited during the bench (code ${code}, signal ${signal})`]);
  });
  return {
    child,
    ready: reported,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      stopping = true;
      const exited = new Promise((resolveExit) => child.once('exit', resolveExit));
      child.kill('SIGTERM');
      await Promise.race([exited, sleep(3_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/**
 * Kills the child process `current()` returns when this process exits, and on SIGINT or
 * SIGTERM, so an interrupted or failed bench leaves no server behind.
 */
function killChildOnExit(current: () => ChildProcess | undefined): void {
  const kill = () => {
    const child = current();
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  };
  process.on('exit', kill);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      kill();
      process.exit(130);
    });
  }
}

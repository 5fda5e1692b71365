/**
 * Webhook receiver fixtures: secrets, headers signed by the reference standardwebhooks library,
 * receivers that record what they handle, and real node:http servers to serve them from.
 */
import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import type { Message } from 'missive';
import {
  createWebhookReceiver,
  fetchWebhookHandler,
  nodeHttpWebhookHandler,
  type WebhookReceiver,
  type WebhookReceiverOptions,
} from 'missive/http';
import { Webhook } from 'standardwebhooks';
import { expect } from 'vitest';

export const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';
export const NEXT_SECRET = 'whsec_dGhlIG5leHQgc2VjcmV0IGFmdGVyIHJvdGF0aW9u';
export const UNKNOWN_SECRET = 'whsec_c29tZWJvZHkgZWxzZSdzIHNlY3JldCBrZXk=';
/** The parts of a secret that must never show in a response or an error. */
const SECRET_PARTS = [SECRET, SECRET.slice('whsec_'.length), NEXT_SECRET.slice('whsec_'.length)];

/** Asserts that `text` shows no part of a test secret. */
export function expectNoSecret(text: string): void {
  for (const part of SECRET_PARTS) expect(text).not.toContain(part);
}

let ids = 0;
/** A webhook id no other test uses. */
export const nextId = () => `msg_${++ids}_${Date.now()}`;
/** Now, in whole seconds since the epoch, as `webhook-timestamp` carries it. */
export const nowSeconds = () => Math.floor(Date.now() / 1000);

interface SignOptions {
  readonly id?: string;
  readonly secrets?: readonly string[];
  readonly timestampSeconds?: number;
  readonly headers?: Record<string, string>;
}

/** Standard Webhooks headers for `body`, signed by the reference library with every secret given. */
export function signed(body: string, options: SignOptions = {}): Record<string, string> {
  const id = options.id ?? nextId();
  const timestampSeconds = options.timestampSeconds ?? nowSeconds();
  const signature = (options.secrets ?? [SECRET])
    .map((secret) => new Webhook(secret).sign(id, new Date(timestampSeconds * 1000), body))
    .join(' ');
  return {
    'content-type': 'application/json',
    'webhook-id': id,
    'webhook-timestamp': String(timestampSeconds),
    'webhook-signature': signature,
    ...options.headers,
  };
}

interface Calls<Body> {
  readonly messages: Message<Body>[];
  readonly errors: Error[];
}

/** A receiver whose handler records each message, then runs `then` (default: succeed). */
export function recordingReceiver<Body = unknown>(
  then: (message: Message<Body>, context: { attempt: number; signal: AbortSignal }) => unknown = () => undefined,
  options: Partial<WebhookReceiverOptions<Body>> = {},
): { receiver: WebhookReceiver } & Calls<Body> {
  const messages: Message<Body>[] = [];
  const errors: Error[] = [];
  const receiver = createWebhookReceiver<Body>({
    secret: SECRET,
    onError: (error) => errors.push(error),
    handler: (message, context) => {
      messages.push(message);
      return then(message, context);
    },
    ...options,
  });
  return { receiver, messages, errors };
}

const servers: Server[] = [];

/** Closes every server {@link listen} started; each test file runs it `afterEach`. */
export function closeServers(): void {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
}

/** Starts a real node:http server on 127.0.0.1 and returns its URL. */
export async function listen(listener: (req: IncomingMessage, res: ServerResponse) => void): Promise<string> {
  const server = createServer(listener);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/webhooks`;
}

/** Serves `receiver` through {@link nodeHttpWebhookHandler} and returns its URL. */
export const serveNode = (receiver: WebhookReceiver) => listen(nodeHttpWebhookHandler(receiver));

/** Serves a fetch handler from node:http, the way @hono/node-server does: IncomingMessage → Request → Response. */
export function serveFetch(receiver: WebhookReceiver): Promise<string> {
  const handler = fetchWebhookHandler(receiver);
  return listen(async (req, res) => {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const request = new Request(`http://${req.headers.host}${req.url}`, {
      method: req.method ?? 'GET',
      headers,
      ...(hasBody ? { body: Readable.toWeb(req) as ReadableStream, duplex: 'half' } : {}),
    } as RequestInit);
    const response = await handler(request);
    res.writeHead(response.status, Object.fromEntries(response.headers));
    res.end(await response.text());
  });
}

/** POSTs `body` to `url`; the answer with its text, and its JSON when it has a body. */
export async function post(url: string, body: string, headers: Record<string, string>) {
  const response = await fetch(url, { method: 'POST', body, headers });
  const text = await response.text();
  return { status: response.status, headers: response.headers, text, json: text ? JSON.parse(text) : undefined };
}

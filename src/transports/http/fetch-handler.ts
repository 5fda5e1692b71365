import { reporterOf, type WebhookReceiver } from './receiver.ts';
import { rejection, tooLarge, WebhookRejection, type WebhookResponse } from './response.ts';

/**
 * Serves a receiver through the Fetch API, from a `Request` to a `Response`: for Hono
 * (`app.post('/webhooks', (c) => handler(c.req.raw))`) and any runtime or framework built on
 * them. A `Content-Length` over `maxBodyBytes` is answered 413 without reading the body, and a
 * body that passes the limit while streaming is answered 413 as soon as it does.
 *
 * @example
 * ```ts
 * import { fetchWebhookHandler } from 'missive/http';
 *
 * const onWebhook = fetchWebhookHandler(receiver);
 * app.post('/webhooks/orders', (c) => onWebhook(c.req.raw));
 * ```
 */
export function fetchWebhookHandler(receiver: WebhookReceiver): (request: Request) => Promise<Response> {
  const report = reporterOf(receiver);
  return async (request) => {
    try {
      return toResponse(await serve(receiver, request));
    } catch (error) {
      // Reading the body failed: the sender went away, so this answer is most likely never seen.
      if (!request.signal.aborted) report(error as Error);
      return toResponse(rejection(500, WebhookRejection.ReceiverFailed, 'The receiver failed; retry later.'));
    }
  };
}

async function serve(receiver: WebhookReceiver, request: Request): Promise<WebhookResponse> {
  const { method, signal } = request;
  const headers = (name: string) => request.headers.get(name) ?? undefined;
  if (method !== 'POST') return receiver.handle({ method, headers, body: '', signal });
  const limit = receiver.maxBodyBytes;
  if (Number(request.headers.get('content-length')) > limit) {
    request.body?.cancel().catch(() => undefined);
    return tooLarge(limit);
  }
  const body = await readBody(request.body, limit);
  if (body === undefined) return tooLarge(limit);
  return receiver.handle({ method, headers, body, signal });
}

/** The body, or undefined once it passes `limitBytes`: the stream is then cancelled. */
async function readBody(
  stream: ReadableStream<Uint8Array> | null,
  limitBytes: number,
): Promise<Uint8Array | undefined> {
  if (!stream) return new Uint8Array(0);
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limitBytes) {
      reader.cancel().catch(() => undefined);
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks, size);
}

function toResponse(response: WebhookResponse): Response {
  return new Response(response.body, { status: response.status, headers: response.headers });
}

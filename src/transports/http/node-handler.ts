import type { IncomingMessage, ServerResponse } from 'node:http';
import { ConfigurationError } from '../../errors.ts';
import { reporterOf, type WebhookReceiver } from './receiver.ts';
import { rejection, tooLarge, WebhookRejection, type WebhookResponse } from './response.ts';
import { headerLookup } from './verify.ts';

/** A request that a body parser may have read already (Express, Firebase, …). */
interface ParsedRequest extends IncomingMessage {
  readonly rawBody?: unknown;
  readonly body?: unknown;
  /** Set by Express's body parsers once they consumed the stream. */
  readonly _body?: unknown;
}

/**
 * Serves a receiver from `node:http`, or from Express as a route handler
 * (`app.post('/webhooks', handler)`, registered before `express.json()` so the raw body reaches
 * the signature check; a `req.rawBody` or a Buffer `req.body` from `express.raw()` is used when
 * present). The body is read up to `maxBodyBytes`: a larger `Content-Length` is answered 413 at
 * once, and a body that passes the limit while streaming is answered 413 without reading further.
 *
 * @example
 * ```ts
 * import { createServer } from 'node:http';
 * import { nodeHttpWebhookHandler } from 'missive/http';
 *
 * createServer(nodeHttpWebhookHandler(receiver)).listen(8080);
 * ```
 */
export function nodeHttpWebhookHandler(receiver: WebhookReceiver): (req: IncomingMessage, res: ServerResponse) => void {
  const report = reporterOf(receiver);
  return (req, res) => {
    serve(receiver, req as ParsedRequest, res).catch((error: unknown) => {
      // Reading failed (the sender went away) or the response could not be written: nobody is
      // listening for an answer. Anything else is a bug worth reporting.
      if (!req.destroyed && !res.destroyed) report(error as Error);
      if (!res.headersSent)
        write(res, rejection(500, WebhookRejection.ReceiverFailed, 'The receiver failed; retry later.'));
      else res.destroy();
    });
  };
}

async function serve(receiver: WebhookReceiver, req: ParsedRequest, res: ServerResponse): Promise<void> {
  const method = req.method ?? '';
  const headers = headerLookup(req.headers);
  const signal = abortedOnHangUp(res);
  if (method !== 'POST') return write(res, await receiver.handle({ method, headers, body: '', signal }));
  let body = alreadyRead(req);
  if (body === undefined) {
    if (req.readableEnded || req._body === true) {
      // A body parser consumed the stream, and the exact bytes the signature covers are gone.
      reporterOf(receiver)(
        new ConfigurationError(
          'webhook route',
          'a request whose body was already parsed',
          'the raw body: register the webhook handler before express.json(), or use express.raw({ type: "*/*" }) on its route',
        ),
      );
      return write(res, rejection(500, WebhookRejection.ReceiverFailed, 'The receiver is misconfigured; retry later.'));
    }
    const declared = Number(req.headers['content-length']);
    if (declared > receiver.maxBodyBytes) return write(res, tooLarge(receiver.maxBodyBytes), true);
    body = await readBody(req, receiver.maxBodyBytes);
    if (body === undefined) return write(res, tooLarge(receiver.maxBodyBytes), true);
  }
  write(res, await receiver.handle({ method, headers, body, signal }));
}

/** The body a parser kept as bytes or text (`req.rawBody`, or `req.body` from express.raw() or text()). */
function alreadyRead(req: ParsedRequest): Uint8Array | string | undefined {
  for (const candidate of [req.rawBody, req.body]) {
    if (typeof candidate === 'string' || candidate instanceof Uint8Array) return candidate;
  }
  return undefined;
}

/** The body, or undefined once it passes `limitBytes`: reading then stops, and nothing more is kept. */
function readBody(req: IncomingMessage, limitBytes: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const done = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.byteLength;
      if (size > limitBytes) {
        done();
        // Stop reading: the socket's buffers fill and the sender is held back until it sees the 413.
        req.pause();
        chunks.length = 0;
        resolve(undefined);
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = () => {
      done();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      done();
      reject(error);
    };
    const onClose = () => onError(new Error('The sender closed the connection before the body ended.'));
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** A signal that aborts when the connection closes before the response was sent. */
function abortedOnHangUp(res: ServerResponse): AbortSignal {
  const controller = new AbortController();
  res.once('close', () => {
    if (!res.writableFinished) controller.abort(new Error('The sender closed the connection before the response.'));
  });
  return controller.signal;
}

/** Writes `response`; `close` ends the connection after it, since the rest of the body was not read. */
function write(res: ServerResponse, response: WebhookResponse, close = false): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(response.status, { ...response.headers, ...(close ? { connection: 'close' } : {}) });
  res.end(response.body);
}

/**
 * One POST through an undici dispatcher, keeping only what classifying a delivery needs: the
 * status, `Retry-After`, and a short excerpt of a failure's body. `Pool.request()` wraps every
 * response body in a stream, which a webhook sender never reads; skipping it is a measurable
 * part of the sender's cost per message (see bench/http.ts).
 *
 * @module
 */
import type { Dispatcher } from 'undici';
import { toError } from '../../errors.ts';

/** Longest excerpt of a failure's body kept, in characters. */
export const MAX_EXCERPT_CHARS = 256;

/** Most bytes of a 2xx body read (and dropped) to keep the connection; past it, the connection is dropped. */
const MAX_DRAIN_BYTES = 128 * 1024;

/** What an endpoint answered. */
export interface PostResponse {
  readonly status: number;
  /** The `Retry-After` header, if any. */
  readonly retryAfter: string | undefined;
  /** The first characters of the body of a non-2xx answer (empty for 2xx), at most {@link MAX_EXCERPT_CHARS} characters, an ellipsis included. */
  readonly excerpt: string;
}

/** What {@link post} sends. */
export interface PostRequest {
  readonly path: string;
  readonly headers: Record<string, string>;
  readonly body: string;
  readonly signal?: AbortSignal | undefined;
  /**
   * Longest time the body is read once the status is in, in milliseconds, checked as each chunk
   * arrives (a pause is limited by the dispatcher's body timeout); then the connection is dropped.
   */
  readonly bodyDeadlineMs: number;
}

/**
 * POSTs `request` and resolves with the answer once its body has been read, or rejects with the
 * network error (or the signal's reason) when no status came back. Once the status is in, the
 * answer stands even if the body is cut short. A failure's body is read no further than the
 * excerpt, a success's no further than 128 KiB, and neither for longer than `bodyDeadlineMs`:
 * the connection is then dropped, not drained. Undici's body timeout limits each pause only, so
 * a body trickled a byte at a time would otherwise hold the send for hours.
 */
export function post(dispatcher: Dispatcher, request: PostRequest): Promise<PostResponse> {
  return new Promise((resolve, reject) => {
    const { signal } = request;
    let status = 0;
    let retryAfter: string | undefined;
    let excerpt = '';
    let truncated = false;
    let drained = 0;
    let onAbort: (() => void) | undefined;
    // When the status came: each chunk of the body checks the deadline against it. No timer per
    // request; a body that stops altogether is cut by undici's body timeout (each pause).
    let statusAt = 0;
    const finish = () => {
      if (onAbort) signal?.removeEventListener('abort', onAbort);
      resolve({ status, retryAfter, excerpt: truncated ? `${excerpt.slice(0, MAX_EXCERPT_CHARS - 1)}…` : excerpt });
    };
    dispatcher.dispatch(
      { path: request.path, method: 'POST', headers: request.headers, body: request.body },
      {
        onRequestStart(controller) {
          if (!signal) return;
          if (signal.aborted) return controller.abort(toError(signal.reason));
          onAbort = () => controller.abort(toError(signal.reason));
          signal.addEventListener('abort', onAbort, { once: true });
        },
        onResponseStart(_controller, statusCode, headers) {
          status = statusCode;
          statusAt = performance.now();
          const value = headers['retry-after'];
          retryAfter = Array.isArray(value) ? value[0] : value;
        },
        onResponseData(controller, chunk) {
          if (performance.now() - statusAt > request.bodyDeadlineMs) {
            controller.abort(new Error('body deadline passed'));
            return;
          }
          if (status >= 200 && status < 300) {
            // Read to keep the connection alive, but never wait on an endless body.
            drained += chunk.length;
            if (drained > MAX_DRAIN_BYTES) controller.abort(new Error('body too long to drain'));
            return;
          }
          excerpt += chunk.toString('utf8');
          if (excerpt.length >= MAX_EXCERPT_CHARS) {
            truncated = excerpt.length > MAX_EXCERPT_CHARS;
            controller.abort(new Error('excerpt read'));
          }
        },
        onResponseEnd: finish,
        onResponseError(_controller, error) {
          // Once the status is in, the endpoint has answered: a body cut short (by us after the
          // excerpt, by the network, a body timeout or the caller's signal) does not change it.
          if (status !== 0) return finish();
          if (onAbort) signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      },
    );
  });
}

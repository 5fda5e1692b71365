import { createSecretKey, type KeyObject } from 'node:crypto';
import { Pool } from 'undici';
import { type Clock, systemClock } from '../../clock.ts';
import { ConfigurationError, HttpStatusError, TransportError, toError } from '../../errors.ts';
import type { OutgoingEnvelope } from '../../message.ts';
import { integerOption, requiredOption } from '../../options.ts';
import type { Sender, SendOutcome, TransportFeatures } from '../contract.ts';
import { type AddressKind, assertAllowedHost, guardedLookup, type Lookup } from './address-guard.ts';
import { CircuitBreaker, type CircuitBreakerOptions } from './circuit-breaker.ts';
import { MessageHeader, RESERVED_HEADERS } from './envelope.ts';
import { type PostResponse, post } from './post.ts';
import { secretKey, signature, WebhookHeader } from './signature.ts';

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** A character an HTTP header value cannot carry (undici refuses it, as RFC 9110 does). */
const INVALID_VALUE = /[^\t\x20-\x7e\x80-\xff]/;
/** The start of an HTTP date in any of RFC 9110's three forms: a day name, then a time of day. */
const HTTP_DATE = /^(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun)[a-z]*,? .*\b\d{2}:\d{2}:\d{2}\b/;
const FEATURES: TransportFeatures = {
  fifo: false,
  delay: false,
  deadLetter: false,
  nativeDeadLetter: false,
  persistence: false,
};

/** TLS settings for a webhook target. */
export interface WebhookTlsOptions {
  /** Certificate authorities to trust instead of Node's defaults (PEM). */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** Client certificate for mutual TLS (PEM). */
  readonly cert?: string | Buffer;
  /** Private key of the client certificate (PEM). */
  readonly key?: string | Buffer;
  /** Passphrase of an encrypted `key`. */
  readonly passphrase?: string;
}

/** Options of {@link webhookTarget}. Durations are in milliseconds. */
export interface WebhookTargetOptions {
  /**
   * The endpoint to POST to (https, or http). An IP literal of a refused kind (see
   * `allowAddresses`) throws a `ConfigurationError` at once.
   */
  readonly url: string;
  /** The signing secret (`whsec_…`), or several while rotating: every one signs each message. */
  readonly secret: string | Uint8Array | readonly (string | Uint8Array)[];
  /** Called per request for a bearer token (for example a short-lived JWT). */
  readonly bearerToken?: () => string | Promise<string>;
  /** Content type of the body. Default `application/json`. */
  readonly contentType?: string;
  /**
   * Limit on connecting, then on waiting for the response head, then on reading the response
   * body: on each pause in it, and on the whole of it as each chunk arrives (so a whole body
   * takes at most about twice this; a body cut short leaves the status standing), in
   * milliseconds. Default 10 000; at least 1.
   */
  readonly timeoutMs?: number;
  /** Most connections kept open to the endpoint (keep-alive). Default 32; at least 1. */
  readonly maxConnections?: number;
  /** Longest `Retry-After` honoured, in milliseconds; a longer one is cut to it. Default 600 000 (10 min); 0 or more. */
  readonly retryAfterCapMs?: number;
  /** Circuit breaker for the endpoint; `false` to disable. Default 5 failures in a row open it for 30 000 ms. */
  readonly circuitBreaker?: CircuitBreakerOptions | false;
  /** TLS settings: a private CA, a client certificate. Default Node's. */
  readonly tls?: WebhookTlsOptions;
  /**
   * Address kinds the destination may resolve to. Default none: loopback, private and
   * link-local addresses are refused (SSRF guard).
   */
  readonly allowAddresses?: readonly AddressKind[];
  /** Resolves host names; default `dns.lookup`. For tests and custom resolvers. */
  readonly lookup?: Lookup;
  /** Clock for timestamps and the circuit breaker. Default the system clock. */
  readonly clock?: Clock;
}

/**
 * Delivers messages as signed webhooks (Standard Webhooks) to one endpoint: a {@link Sender}
 * that producers retry through. Create one with {@link webhookTarget}; its constructor throws a
 * `ConfigurationError` for a bad option.
 *
 * @example
 * ```ts
 * import { webhookTarget } from 'missive/http';
 *
 * const target = webhookTarget({ url: 'https://example.com/hooks/orders', secret: process.env.WEBHOOK_SECRET! });
 * process.once('SIGTERM', () => target.close());
 * ```
 */
export class WebhookTarget implements Sender {
  /** The endpoint without query string or credentials, safe to log. */
  readonly destination: string;
  readonly features = FEATURES;
  readonly messagingSystem = 'webhook';
  /** Path and query of the URL: requests go to the pool's origin. */
  readonly #path: string;
  readonly #keys: KeyObject[];
  readonly #bearerToken: (() => string | Promise<string>) | undefined;
  readonly #contentType: string;
  readonly #retryAfterCapMs: number;
  readonly #timeoutMs: number;
  readonly #breaker: CircuitBreaker | undefined;
  readonly #pool: Pool;
  readonly #clock: Clock;
  #gone: HttpStatusError | undefined;

  constructor(options: WebhookTargetOptions) {
    const raw = requiredOption('url', options.url, 'the https URL of the webhook endpoint');
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      // Shown without what may be secret: credentials, query string and fragment.
      const shown = String(raw)
        .replace(/[?#].*$/s, '')
        .replace(/^([^/]*\/\/)[^/]*@/, '$1');
      throw new ConfigurationError('url', shown, 'an absolute http or https URL');
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:')
      throw new ConfigurationError('url', url.protocol, 'an http: or https: URL');
    this.#path = `${url.pathname}${url.search}`;
    this.destination = `${url.origin}${url.pathname}`;
    const secrets = requiredOption('secret', options.secret, 'a signing secret such as whsec_…');
    const list = typeof secrets === 'string' || secrets instanceof Uint8Array ? [secrets] : [...secrets];
    if (list.length === 0) throw new ConfigurationError('secret', '[]', 'at least one signing secret');
    // Imported once as KeyObjects: createHmac() given a Buffer imports the key again on every call.
    this.#keys = list.map((secret, i) =>
      createSecretKey(secretKey(secret, list.length > 1 ? `secret[${i}]` : 'secret')),
    );
    this.#bearerToken = options.bearerToken;
    this.#contentType = options.contentType ?? 'application/json';
    // Checked here: undici would refuse it on every send, each refusal counted against the endpoint.
    if (typeof this.#contentType !== 'string' || INVALID_VALUE.test(this.#contentType))
      throw new ConfigurationError('contentType', this.#contentType, 'a media type such as application/json');
    const timeoutMs = integerOption('timeoutMs', options.timeoutMs, 10_000, 1);
    this.#timeoutMs = timeoutMs;
    this.#retryAfterCapMs = integerOption('retryAfterCapMs', options.retryAfterCapMs, 600_000, 0);
    this.#clock = options.clock ?? systemClock;
    const breaker = options.circuitBreaker;
    this.#breaker =
      breaker === false
        ? undefined
        : new CircuitBreaker(
            integerOption('circuitBreaker.failureThreshold', breaker?.failureThreshold, 5, 1),
            integerOption('circuitBreaker.openMs', breaker?.openMs, 30_000, 1),
            this.#clock,
          );
    const allow = options.allowAddresses ?? [];
    try {
      assertAllowedHost(this.destination, url.hostname, allow);
    } catch (error) {
      throw new ConfigurationError('url', this.destination, `a public address: ${toError(error).message}`);
    }
    const tls = options.tls ?? {};
    // One endpoint, so one origin: a Pool, asked directly (no URL parsing and origin lookup per request).
    this.#pool = new Pool(url.origin, {
      connections: integerOption('maxConnections', options.maxConnections, 32, 1),
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
      connectTimeout: timeoutMs,
      connect: {
        lookup: guardedLookup(this.destination, allow, options.lookup),
        ...(tls.ca ? { ca: tls.ca as string[] } : {}),
        ...(tls.cert ? { cert: tls.cert } : {}),
        ...(tls.key ? { key: tls.key } : {}),
        ...(tls.passphrase ? { passphrase: tls.passphrase } : {}),
      } as NonNullable<Pool.Options['connect']>,
    });
  }

  /** POSTs each envelope; outcomes follow the endpoint's status codes (see the class docs). */
  send(envelopes: readonly OutgoingEnvelope[], options?: { signal?: AbortSignal }): Promise<SendOutcome[]> {
    const signal = options?.signal;
    // One envelope (a producer's single send) is the common case: skip Promise.all.
    if (envelopes.length === 1) return this.#deliver(envelopes[0] as OutgoingEnvelope, signal).then((o) => [o]);
    return Promise.all(envelopes.map((envelope) => this.#deliver(envelope, signal)));
  }

  /** Closes the kept-alive connections. */
  close(): Promise<void> {
    return this.#pool.close();
  }

  async #deliver(envelope: OutgoingEnvelope, signal: AbortSignal | undefined): Promise<SendOutcome> {
    const id = envelope.id;
    if (this.#gone) return { status: 'permanent', id, error: this.#gone };
    if (envelope.delayMs) {
      return {
        status: 'permanent',
        id,
        error: new TransportError(
          this.destination,
          `Webhook targets deliver at once and cannot delay a message (delayMs ${envelope.delayMs}). Put a queue with a delay in front of the target.`,
          false,
        ),
      };
    }
    // The breaker first: an open circuit costs no token minting, no signing.
    const waitMs = this.#breaker?.waitMs() ?? 0;
    if (waitMs > 0) {
      const error = new TransportError(
        this.destination,
        `Circuit open for ${this.destination} after repeated failures; the next probe goes in ${Math.ceil(waitMs / 1000)} s.`,
        true,
      );
      return { status: 'retryable', id, error, retryAfterMs: waitMs };
    }
    let headers: Record<string, string>;
    try {
      headers = this.#headers(envelope);
      if (this.#bearerToken) await this.#authorize(headers, this.#bearerToken);
    } catch (thrown) {
      this.#breaker?.abandoned();
      const error = toError(thrown);
      const retryable = error instanceof TransportError && error.retryable;
      return retryable ? { status: 'retryable', id, error } : { status: 'permanent', id, error };
    }
    let response: PostResponse;
    try {
      response = await post(this.#pool, {
        path: this.#path,
        headers,
        body: envelope.body,
        signal,
        bodyDeadlineMs: this.#timeoutMs,
      });
    } catch (thrown) {
      return this.#networkFailure(id, thrown, signal);
    }
    const { status, excerpt } = response;
    if (status >= 200 && status < 300) {
      this.#breaker?.succeeded();
      return { status: 'accepted', id };
    }
    const retryable = status === 408 || status === 425 || status === 429 || status >= 500;
    const retryAfterMs = retryable ? this.#retryAfter(response.retryAfter) : undefined;
    const error = new HttpStatusError(this.destination, status, excerpt, retryable, retryAfterMs);
    if (status === 410) this.#gone = error;
    if (retryable) {
      this.#breaker?.failed();
      return retryAfterMs === undefined
        ? { status: 'retryable', id, error }
        : { status: 'retryable', id, error, retryAfterMs };
    }
    // The endpoint answered: it is up, whatever it thought of this message.
    this.#breaker?.succeeded();
    return { status: 'permanent', id, error };
  }

  #networkFailure(id: string, thrown: unknown, signal: AbortSignal | undefined): SendOutcome {
    // Given up by the caller: this message's fate is unknown, the batch's others are not.
    if (signal?.aborted) {
      this.#breaker?.abandoned();
      return { status: 'retryable', id, error: toError(signal.reason) };
    }
    // The SSRF guard's refusal surfaces from the connect step, possibly wrapped.
    const refusal = findTransportError(thrown);
    if (refusal) {
      this.#breaker?.abandoned();
      return { status: 'permanent', id, error: refusal };
    }
    this.#breaker?.failed();
    const cause = toError(thrown);
    const code = (thrown as { code?: string }).code;
    const error = new TransportError(
      this.destination,
      `POST ${this.destination} failed: ${cause.message}${code ? ` (${code})` : ''}. It is retried.`,
      true,
      cause,
    );
    return { status: 'retryable', id, error };
  }

  /**
   * The request headers: Standard Webhooks' three, the content type, and Missive's own (the
   * message id only when it differs from the idempotency key, which `webhook-id` already carries:
   * every header costs both sides parsing). Throws a permanent TransportError for a header that
   * cannot be sent.
   */
  #headers(envelope: OutgoingEnvelope): Record<string, string> {
    const { idempotencyKey, id } = envelope;
    if (INVALID_VALUE.test(idempotencyKey) || INVALID_VALUE.test(id)) {
      const [field, value] = INVALID_VALUE.test(idempotencyKey)
        ? ['idempotency key', idempotencyKey]
        : ['message id', id];
      throw new TransportError(
        this.destination,
        `The ${field} ${JSON.stringify(value.slice(0, 64))} cannot be sent as an HTTP header (a control or non-Latin-1 character). Use ASCII ids.`,
        false,
      );
    }
    const timestampSeconds = Math.floor(this.#clock.now() / 1000);
    const headers: Record<string, string> = {
      'content-type': this.#contentType,
      'user-agent': 'missive',
      [WebhookHeader.id]: envelope.idempotencyKey,
      [WebhookHeader.timestamp]: String(timestampSeconds),
      [WebhookHeader.signature]: signature(this.#keys, envelope.idempotencyKey, timestampSeconds, envelope.body),
      [MessageHeader.createdAt]: String(envelope.createdAt),
    };
    if (envelope.id !== envelope.idempotencyKey) headers[MessageHeader.id] = envelope.id;
    let carried: string | undefined;
    for (const name in envelope.headers) {
      const value = envelope.headers[name] as string;
      const lower = name.toLowerCase();
      if (!TOKEN.test(name) || RESERVED_HEADERS.has(lower) || INVALID_VALUE.test(value)) {
        throw new TransportError(
          this.destination,
          `Header ${JSON.stringify(name)} cannot be sent as an HTTP header (an invalid name, a value with a control or non-Latin-1 character, or a name Missive sets itself). Rename it, or encode its value.`,
          false,
        );
      }
      headers[lower] = value;
      carried = carried === undefined ? lower : `${carried},${lower}`;
    }
    if (carried !== undefined) headers[MessageHeader.carried] = carried;
    return headers;
  }

  /** Adds the bearer token; a failing provider is a retryable TransportError. */
  async #authorize(headers: Record<string, string>, bearerToken: () => string | Promise<string>): Promise<void> {
    let token: string;
    try {
      token = await bearerToken();
    } catch (error) {
      // A token service hiccup is worth a retry, unlike a malformed message.
      throw new TransportError(
        this.destination,
        `The bearerToken provider failed: ${toError(error).message}. The delivery is retried.`,
        true,
        error,
      );
    }
    // Refused here rather than by undici: its refusal would count as the endpoint failing.
    if (typeof token !== 'string' || INVALID_VALUE.test(token)) {
      throw new TransportError(
        this.destination,
        'The bearerToken provider returned a token that cannot be sent as an HTTP header (not a string, or a control or non-Latin-1 character). The delivery is retried.',
        true,
      );
    }
    headers.authorization = `Bearer ${token}`;
  }

  /** Retry-After as milliseconds (seconds, or an HTTP date), capped; undefined when absent or unreadable. */
  #retryAfter(text: string | undefined): number | undefined {
    const value = text?.trim();
    if (!value) return undefined;
    let ms: number;
    // Digits too many for a double are Infinity: the longest wait, so the cap.
    if (/^\d+$/.test(value)) ms = Number(value) * 1000;
    // Date.parse reads nearly anything ('soon 1', '-5') as some date in the past: only HTTP dates count.
    else if (HTTP_DATE.test(value)) ms = Date.parse(value) - this.#clock.now();
    else return undefined;
    if (Number.isNaN(ms)) return undefined;
    return Math.min(Math.max(0, ms), this.#retryAfterCapMs);
  }
}

function findTransportError(error: unknown): TransportError | undefined {
  for (
    let current = error, depth = 0;
    current && depth < 5;
    current = (current as { cause?: unknown }).cause, depth++
  ) {
    if (current instanceof TransportError) return current;
  }
  return undefined;
}

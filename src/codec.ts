import { CodecError } from './errors.ts';

/**
 * Turns message bodies into the text a transport carries and back. JSON is the default; pass
 * another codec to producers and consumers alike (they must agree). A throw from either method
 * becomes a `CodecError`.
 */
export interface Codec {
  /** A short name for errors and the `content-type` header, for example `application/json`. */
  readonly contentType: string;
  /** The body as text; throw for a body the codec cannot represent. */
  encode(body: unknown): string;
  /** The body back from text; throw for text that is not a valid encoding. */
  decode(text: string): unknown;
}

/**
 * The default codec: `JSON.stringify` and `JSON.parse`. `undefined`, functions and symbols, and
 * anything `JSON.stringify` throws on (a `BigInt`, a cycle), fail to encode.
 *
 * @example
 * ```ts
 * import { createProducer, jsonCodec } from 'missive';
 *
 * const producer = createProducer({ transport: queue, codec: jsonCodec }); // the default, made explicit
 * ```
 */
export const jsonCodec: Codec = {
  contentType: 'application/json',
  encode(body) {
    const text = JSON.stringify(body);
    // JSON.stringify returns undefined for undefined, functions and symbols: nothing to send.
    if (text === undefined) throw new TypeError(`${typeof body} has no JSON representation`);
    return text;
  },
  decode: (text) => JSON.parse(text),
};

/** Encodes with `codec`, turning any failure into a {@link CodecError}. */
export function encodeBody(codec: Codec, body: unknown): string {
  try {
    return codec.encode(body);
  } catch (error) {
    throw new CodecError('encode', codec.contentType, error);
  }
}

/** Decodes with `codec`, turning any failure into a {@link CodecError}. */
export function decodeBody(codec: Codec, text: string): unknown {
  try {
    return codec.decode(text);
  } catch (error) {
    throw new CodecError('decode', codec.contentType, error);
  }
}

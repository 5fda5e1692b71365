import { type Codec, decodeBody } from '../codec.ts';
import { CodecError, InvalidMessageError } from '../errors.ts';
import type { Envelope, Message } from '../message.ts';
import { type StandardSchemaV1, validate } from '../schema.ts';
import type { Outcome, Step } from './pipeline.ts';

/**
 * Decodes the envelope's body (and validates it against `schema`) into `context.message`.
 * A body that cannot be decoded or fails its schema is dead-lettered at once with the issues:
 * no retry can fix it, and the handler never sees it.
 */
export function decodeStep(codec: Codec, schema: StandardSchemaV1 | undefined): Step {
  if (schema) {
    return (next) => async (context) => {
      const { envelope } = context.delivery;
      try {
        context.message = toMessage(
          envelope,
          await validate(schema, decodeBody(codec, envelope.body), `received from ${context.source}`),
        );
      } catch (error) {
        return invalid(error);
      }
      return next(context);
    };
  }
  // Without a schema, decoding is synchronous: no async frame, and `next`'s promise is returned
  // as is rather than adopted by another one (which costs two microtask hops per message).
  return (next) => (context) => {
    const { envelope } = context.delivery;
    try {
      context.message = toMessage(envelope, decodeBody(codec, envelope.body));
      return next(context);
    } catch (error) {
      return invalid(error);
    }
  };
}

function toMessage(envelope: Envelope, body: unknown): Message<unknown> {
  return {
    id: envelope.id,
    body,
    headers: envelope.headers,
    idempotencyKey: envelope.idempotencyKey,
    createdAt: envelope.createdAt,
    groupId: envelope.groupId,
  };
}

/** A body the codec or schema rejected is dead-lettered; anything else is a rejection. */
function invalid(error: unknown): Promise<Outcome> {
  if (error instanceof CodecError || error instanceof InvalidMessageError) {
    return Promise.resolve({ status: 'dead-letter', reason: 'invalid-body', error });
  }
  return Promise.reject(error);
}

import { type Codec, decodeBody } from '../codec.ts';
import { CodecError, InvalidMessageError } from '../errors.ts';
import { FailureReason } from '../failure.ts';
import { type StandardSchemaV1, validate } from '../schema.ts';
import type { Step } from './pipeline.ts';

/**
 * Decodes the envelope's body (and validates it against `schema`) into `context.message`.
 * A body that cannot be decoded or fails its schema is dead-lettered at once with the issues:
 * no retry can fix it, and the handler never sees it.
 */
export function decodeStep(codec: Codec, schema: StandardSchemaV1 | undefined): Step {
  return (next) => async (context) => {
    const { envelope } = context.delivery;
    try {
      let body = decodeBody(codec, envelope.body);
      if (schema) body = await validate(schema, body, `received from ${context.source}`);
      context.message = {
        id: envelope.id,
        body,
        headers: envelope.headers,
        idempotencyKey: envelope.idempotencyKey,
        createdAt: envelope.createdAt,
        groupId: envelope.groupId,
      };
    } catch (error) {
      if (error instanceof CodecError || error instanceof InvalidMessageError) {
        return { status: 'dead-letter', reason: FailureReason.InvalidBody, error };
      }
      throw error;
    }
    return next(context);
  };
}

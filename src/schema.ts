/**
 * Body validation through the Standard Schema interface, which zod, valibot and arktype (among
 * others) implement, so users bring the validator they already use.
 *
 * @module
 */
import type { StandardSchemaV1 } from '@standard-schema/spec';
import { InvalidMessageError } from './errors.ts';

export type { StandardSchemaV1 };

/**
 * Validates `value`, returning the schema's output (synchronously when the schema is
 * synchronous) or throwing {@link InvalidMessageError} with the schema's issues.
 * `context` completes the error message, for example `received from orders`.
 */
export function validate<T>(schema: StandardSchemaV1<unknown, T>, value: unknown, context: string): T | Promise<T> {
  const result = schema['~standard'].validate(value);
  if (result instanceof Promise) return result.then((settled) => unwrap(settled, context));
  return unwrap(result, context);
}

function unwrap<T>(result: StandardSchemaV1.Result<T>, context: string): T {
  if (result.issues) {
    throw new InvalidMessageError(
      result.issues.map((issue) => ({
        message: issue.message,
        path: issue.path?.map((segment) => (typeof segment === 'object' ? segment.key : segment)),
      })),
      context,
    );
  }
  return result.value;
}

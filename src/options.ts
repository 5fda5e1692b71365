/**
 * Option checks shared by every constructor: each throws a {@link ConfigurationError} that names
 * the option, the value received, and the range allowed.
 *
 * @module
 */
import { ConfigurationError } from './errors.ts';

/** An integer within [min, max], or `fallback` when `value` is undefined. */
export function integerOption(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max = Number.MAX_SAFE_INTEGER,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ConfigurationError(name, value, `an integer from ${min} to ${rangeEnd(max)}`);
  }
  return value;
}

/** A finite number within [min, max], or `fallback` when `value` is undefined. */
export function numberOption(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max = Number.MAX_VALUE,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < min || value > max) {
    throw new ConfigurationError(name, value, `a number from ${min} to ${rangeEnd(max)}`);
  }
  return value;
}

/** One of `allowed`, or `fallback` when `value` is undefined. */
export function choiceOption<T extends string>(
  name: string,
  value: T | undefined,
  fallback: T,
  allowed: readonly T[],
): T {
  if (value === undefined) return fallback;
  if (!allowed.includes(value)) {
    throw new ConfigurationError(name, value, `one of ${allowed.map((a) => `'${a}'`).join(', ')}`);
  }
  return value;
}

/** A function, or `fallback` when `value` is undefined. */
export function functionOption<T>(name: string, value: T | undefined, fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'function') throw new ConfigurationError(name, value, 'a function');
  return value;
}

/** A value that must be present. */
export function requiredOption<T>(name: string, value: T | undefined, expected: string): T {
  if (value === undefined || value === null) throw new ConfigurationError(name, value, expected);
  return value;
}

function rangeEnd(max: number): string {
  return max >= Number.MAX_SAFE_INTEGER ? 'any larger value' : max.toLocaleString('en-US');
}

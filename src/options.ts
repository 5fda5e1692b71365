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
    throw new ConfigurationError(name, value, `an integer ${range(min, max, Number.MAX_SAFE_INTEGER)}`);
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
    throw new ConfigurationError(name, value, `a number ${range(min, max, Number.MAX_VALUE)}`);
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

/** "from 1 to 1,000", or "of 1 or more" when `max` is the type's own limit. */
function range(min: number, max: number, limit: number): string {
  return max >= limit ? `of ${min} or more` : `from ${min} to ${max.toLocaleString('en-US')}`;
}

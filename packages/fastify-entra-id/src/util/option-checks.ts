// The checks of number and function options, written once: each returns the value (or its default) or throws
// an EntraConfigError naming the option, with the same words wherever the check is used.

import { EntraConfigError } from './config-error.js'

/** `value`, or `fallback` when undefined: a whole number of milliseconds, 0 or more. */
export function duration(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new EntraConfigError(option, 'must be a non-negative integer number of milliseconds')
  }
  return value
}

/** `value`, or `fallback` when undefined: an integer, 1 or more (a count, a size). */
export function positiveInteger(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new EntraConfigError(option, 'must be a positive integer')
  }
  return value
}

/** `value` when it is a function or undefined; else throws {@link EntraConfigError} naming `option`. */
export function optionalFunction<T extends (...args: never[]) => unknown>(value: T | undefined, option: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw new EntraConfigError(option, 'must be a function')
  return value
}

// The checks of options, written once: each returns the value (or its default) or throws an
// EntraConfigError naming the option, with the same words wherever the check is used.

import { EntraConfigError } from './config-error.js'

/** `value`, or `fallback` when undefined: an integer, 1 or more (a count, a size). */
export function positiveInteger(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new EntraConfigError(option, 'must be a positive integer')
  }
  return value
}

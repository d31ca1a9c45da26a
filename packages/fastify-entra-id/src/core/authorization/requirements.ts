import { EntraConfigError } from '../../util/config-error.js'

/**
 * A set of permission names and how many of them the caller must hold. Entries compare whole and
 * case-sensitively, as Entra issues them.
 * - `{ anyOf: [...] }`: at least one of them.
 * - `{ allOf: [...] }`: every one of them.
 * A single string `"Todo.Read"` is short for `{ anyOf: ["Todo.Read"] }`.
 */
export type Requirement = string | { readonly anyOf: readonly string[] } | { readonly allOf: readonly string[] }

/** A validated {@link Requirement}. */
export interface CompiledRequirement {
  readonly match: 'anyOf' | 'allOf'
  readonly values: readonly string[]
}

// Entra scope and role values contain no whitespace; a space would make the challenge's scope list ambiguous.
const NAME = /^[\x21\x23-\x5b\x5d-\x7e]+$/

/**
 * Validates a requirement once, when a guard is built, each entry with `check` (default: a scope or role name,
 * see {@link Requirement}).
 */
export function compileRequirement(requirement: Requirement, argument: string,
  check: (value: unknown, argument: string) => string = checkName): CompiledRequirement {
  if (typeof requirement === 'string') return { match: 'anyOf', values: Object.freeze([check(requirement, argument)]) }
  if (requirement === null || typeof requirement !== 'object') {
    throw new EntraConfigError(argument, 'must be a name, { anyOf: [...] } or { allOf: [...] }')
  }
  const hasAny = 'anyOf' in requirement
  const hasAll = 'allOf' in requirement
  if (hasAny === hasAll) throw new EntraConfigError(argument, 'must have exactly one of anyOf or allOf')
  const values: unknown = hasAny ? requirement.anyOf : (requirement as { allOf: unknown }).allOf
  if (!Array.isArray(values) || values.length === 0) {
    throw new EntraConfigError(argument, `.${hasAny ? 'anyOf' : 'allOf'} must be a non-empty array of names`)
  }
  return { match: hasAny ? 'anyOf' : 'allOf', values: Object.freeze(values.map((v: unknown) => check(v, argument))) }
}

function checkName(value: unknown, argument: string): string {
  if (typeof value !== 'string' || !NAME.test(value)) {
    throw new EntraConfigError(argument, 'entries must be non-empty strings without spaces or quotes')
  }
  return value
}

/** True when `held` satisfies `requirement`. */
export function satisfies(held: ReadonlySet<string>, requirement: CompiledRequirement): boolean {
  return requirement.match === 'anyOf'
    ? requirement.values.some((v) => held.has(v))
    : requirement.values.every((v) => held.has(v))
}

/** True when the values `held` (a claim's array, read in place: no copy per request) satisfy `requirement`. */
export function satisfiesList(held: readonly unknown[], requirement: CompiledRequirement): boolean {
  return requirement.match === 'anyOf'
    ? requirement.values.some((v) => held.includes(v))
    : requirement.values.every((v) => held.includes(v))
}

/** Describes a requirement for an `error_description`: "one of A, B" or "all of A, B". */
export function describe(requirement: CompiledRequirement): string {
  const list = requirement.values.join(', ')
  if (requirement.values.length === 1) return list
  return `${requirement.match === 'anyOf' ? 'one of' : 'all of'} ${list}`
}

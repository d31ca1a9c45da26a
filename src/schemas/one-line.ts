import { Type } from 'typebox'
import type { TString } from 'typebox'

/**
 * Characters no text field stores: C0 and C1 controls (U+0000 to U+001F, U+007F to U+009F: NUL, which
 * PostgreSQL's text cannot hold, tab, and line feed and carriage return, since a title is one line), the line and
 * paragraph separators U+2028 and U+2029, lone surrogates (not Unicode text: PostgreSQL and SQLite would store
 * U+FFFD in their place) and the noncharacters U+FFFE and U+FFFF. Both engines then store exactly what was sent.
 */
// eslint-disable-next-line no-control-regex -- finding control characters is the point
export const FORBIDDEN_TEXT = /[\u0000-\u001F\u007F-\u009F\u2028\u2029\uD800-\uDFFF\uFFFE\uFFFF]/u

/** `true` when `text` holds none of {@link FORBIDDEN_TEXT}. */
export function isStorableLine(text: string): boolean {
  return !FORBIDDEN_TEXT.test(text)
}

/**
 * A one-line text field: a string without {@link FORBIDDEN_TEXT}, refused with the message
 * `<field> must not contain control characters, line breaks, lone surrogates or noncharacters`. The rule is a
 * TypeBox refinement rather than a `pattern`, for that message; the description tells OpenAPI readers.
 */
export function oneLine<T extends TString>(schema: T): T {
  return Type.Refine(schema, isStorableLine, () => 'must not contain control characters, line breaks, lone surrogates or noncharacters')
}

/** The rule of {@link oneLine} in words, for a field's OpenAPI description. */
export const ONE_LINE = 'one line: no control characters (U+0000 to U+001F, U+007F to U+009F, so no tab or line break), no U+2028 or U+2029, no lone surrogates, no U+FFFE or U+FFFF'

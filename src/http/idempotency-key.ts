/**
 * The `Idempotency-Key` request header (draft-ietf-httpapi-idempotency-key-header-07, section 2): a Structured
 * Field string (RFC 9651, section 3.3.3), e.g. `Idempotency-Key: "8e03978e-40d5-43e8-bc93-6894a57f9324"`. Many
 * clients send the key bare, without the quotes (Stripe's convention), so that form is accepted too when it is one
 * token of visible ASCII without quotes, commas or backslashes.
 *
 * @packageDocumentation
 */

/** Longest key, in characters: the draft's recommended limit (section 2.1). */
export const IDEMPOTENCY_KEY_MAX_LENGTH = 255

// sf-string: DQUOTE *( unescaped / "\" ( DQUOTE / "\" ) ) DQUOTE, unescaped = %x20-21 / %x23-5B / %x5D-7E.
const QUOTED = /^"((?:[\x20\x21\x23-\x5B\x5D-\x7E]|\\["\\])*)"$/
// Visible ASCII except DQUOTE, comma (two keys joined by a proxy) and backslash.
const BARE = /^[\x21\x23-\x2B\x2D-\x5B\x5D-\x7E]+$/

/**
 * The key a header value carries, or `null` when the value is not one: empty, longer than
 * {@link IDEMPOTENCY_KEY_MAX_LENGTH} characters, not printable ASCII (control characters included), or a list of
 * keys (a repeated header).
 */
export function parseIdempotencyKey(value: string): string | null {
  const quoted = QUOTED.exec(value)
  const key = quoted === null ? (BARE.test(value) ? value : null) : (quoted[1] ?? '').replace(/\\(["\\])/g, '$1')
  return key === null || key.length === 0 || key.length > IDEMPOTENCY_KEY_MAX_LENGTH ? null : key
}

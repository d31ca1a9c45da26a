import { InvalidRequestError, MissingTokenError } from '../errors/refusals.js'

/** The parts of an HTTP request the token is read from. */
export interface BearerSource {
  /** Raw header names and values, alternating, as Node's `IncomingMessage.rawHeaders`. */
  readonly rawHeaders: readonly string[]
  /** The parsed query string, if any. */
  readonly query?: unknown
}

// RFC 6750 §2.1: credentials = "Bearer" 1*SP b64token. The b64token's characters are checked by the verifier,
// and only for tokens it has not verified before: a regex over a 1.5-2 KB token on every request would cost as
// much as the rest of a cached request.
const SCHEME = 'bearer'
// Names under which clients put tokens in URLs (RFC 6750 §2.3, OAuth 2 fragments pasted into queries).
const QUERY_TOKEN_PARAMS = ['access_token', 'id_token'] as const
const NO_REALM: { realm?: string } = Object.freeze({})

/**
 * Reads the bearer token of a request, per RFC 6750 §2.1: only the `Authorization` header, `Bearer` scheme (any
 * case), exactly one token. The token's characters are not checked here: a token that is not a compact JWS is
 * refused by the verifier (401 `invalid_token`).
 *
 * Node keeps only the first of several `Authorization` headers in `headers`, so the raw list is read: a request
 * with two is ambiguous and refused (400), never resolved by picking one.
 *
 * @returns the token.
 * @throws {@link core!MissingTokenError} (401) when there is no `Authorization` header, or it uses another scheme
 *   (RFC 6750 §3.1: a request without bearer credentials gets a challenge with no error code).
 * @throws {@link core!InvalidRequestError} (400) for two `Authorization` headers, `Bearer` with no token or with more
 *   than one, or a token sent in the query string.
 */
export function readBearerToken(source: BearerSource, realm?: string): string {
  // The realm is given only by callers that render their own challenge; no object per request otherwise.
  const options = realm === undefined ? NO_REALM : { realm }
  rejectQueryToken(source.query, options)
  let value: string | undefined
  const raw = source.rawHeaders
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string
    if (name.length === 13 && name.toLowerCase() === 'authorization') {
      if (value !== undefined) throw new InvalidRequestError('Send exactly one Authorization header', options)
      value = trimWhitespace(raw[i + 1] as string)
    }
  }
  return tokenOf(value, options)
}

/**
 * Reads the bearer token from one `Authorization` header value, for a server that has only the parsed header
 * (`request.headers.authorization`), by the rules of {@link readBearerToken}. Prefer `readBearerToken` with the
 * raw headers where they exist: only they show a second `Authorization` header, which Node's parsed `headers` drop.
 *
 * @param value - the header's value; `undefined` when the request has none.
 * @param realm - the `realm` of the refusal's challenge. Default `"api"`.
 * @returns the token.
 * @throws {@link core!MissingTokenError} (401) without a value or with another scheme.
 * @throws {@link core!InvalidRequestError} (400) for `Bearer` with no token or more than one.
 */
export function bearerTokenFromHeader(value: string | undefined, realm?: string): string {
  const options = realm === undefined ? NO_REALM : { realm }
  return tokenOf(value === undefined ? undefined : trimWhitespace(value), options)
}

function tokenOf(value: string | undefined, options: { realm?: string }): string {
  if (value === undefined || value === '') throw new MissingTokenError(options)
  if (value.length < SCHEME.length || value.slice(0, SCHEME.length).toLowerCase() !== SCHEME) {
    // Another scheme (Basic, Negotiate...): no bearer credentials at all (RFC 6750 §3.1).
    throw new MissingTokenError(options)
  }
  if (value.length === SCHEME.length) {
    throw new InvalidRequestError('The Bearer authorization header carries no token', options)
  }
  const separator = value.charCodeAt(SCHEME.length)
  if (separator !== 32) {
    // "Bearer<TAB>token" is malformed; "Bearerfoo ..." is another scheme.
    if (separator === 9) throw new InvalidRequestError('The Bearer authorization header must carry exactly one token', options)
    throw new MissingTokenError(options)
  }
  let start = SCHEME.length + 1
  while (value.charCodeAt(start) === 32) start++
  const token = value.slice(start)
  // The value was trimmed, so any space or tab left is between two tokens.
  if (token.includes(' ') || token.includes('\t')) {
    throw new InvalidRequestError('The Bearer authorization header must carry exactly one token', options)
  }
  return token
}

function rejectQueryToken(query: unknown, options: { realm?: string }): void {
  if (query === null || typeof query !== 'object') return
  for (const name in query) {
    // As the name could be meant: any case, and cut at an array suffix (`access_token[]`) or at an `=` that came
    // percent-encoded (`access_token%3D...`). The token is never read from there; the request is refused.
    const bare = name.toLowerCase()
    const cut = bare.search(/[[=]/)
    if ((QUERY_TOKEN_PARAMS as readonly string[]).includes(cut === -1 ? bare : bare.slice(0, cut))) {
      throw new InvalidRequestError('Tokens in the URL are not accepted: send the token in the Authorization header', options)
    }
  }
}

/**
 * The value without the spaces and tabs around it: the only white space HTTP allows there (RFC 9110 §5.6.3).
 * `String.prototype.trim` would also drop characters such as U+00A0, which then stay part of the token.
 */
function trimWhitespace(value: string): string {
  let start = 0
  let end = value.length
  while (start < end && (value.charCodeAt(start) === 32 || value.charCodeAt(start) === 9)) start++
  while (end > start && (value.charCodeAt(end - 1) === 32 || value.charCodeAt(end - 1) === 9)) end--
  return start === 0 && end === value.length ? value : value.slice(start, end)
}

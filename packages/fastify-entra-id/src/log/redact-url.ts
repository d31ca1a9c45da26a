/**
 * Query parameter names whose values {@link redactUrl} replaces: the names OAuth 2 and OpenID Connect tokens,
 * codes, assertions and client secrets travel under (RFC 6749, RFC 6750 §2.3, RFC 7521, RFC 7636, RFC 8628,
 * RFC 8693, OpenID Connect Core and RP-Initiated Logout). Compared case-insensitively, after percent-decoding.
 */
export const redactedQueryParams: readonly string[] = Object.freeze([
  'access_token',
  'id_token',
  'id_token_hint',
  'refresh_token',
  'token',
  'logout_token',
  'subject_token',
  'actor_token',
  'code',
  'device_code',
  'code_verifier',
  'client_secret',
  'client_assertion',
  'assertion',
  'password'
])

const SECRET_NAMES: ReadonlySet<string> = new Set(redactedQueryParams)
const REDACTED = '[REDACTED]'

// Characters that, once a name is percent-decoded, may end it for a parser that decodes before splitting:
// `access_token%3Dxyz` decodes to `access_token=xyz`, whose name part is `access_token`. A NUL ends a name for a
// parser written in C.
const DECODED_SEPARATORS = /[&;?#=\0]/

type NameVerdict = 'plain' | 'secret' | 'secret-in-name' | 'malformed'

/**
 * Replaces the values of credential-bearing query parameters ({@link redactedQueryParams}), and any query name or
 * value that holds a compact JWT (`?t=eyJ...`, whatever the name), with `[REDACTED]`, keeping the rest of the URL
 * as received.
 *
 * Names are matched the way servers read them, not as literal text: percent-decoded (`access%5Ftoken`), `+` as a
 * space, any case, with a `[...]` array suffix (`access_token[]`, as qs reads it) or a `.` path (qs'
 * `allowDots`) ignored, and spaces or dots read as `_` (PHP). A parameter may follow `&`, `;`, `?` or `#`, and
 * the query may start at `?`, `#` or `;` (find-my-way splits the path at `?` and `#`, and at `;` with
 * `useSemicolonDelimiter`). A secret value is replaced up to the next `&`, as Fastify reads it. A name that
 * decodes to a secret name followed by `=` or a separator (`access_token%3Dxyz`) is redacted whole. A value
 * that percent-decodes to a URL with a secret parameter (an encoded redirect URI) is redacted too.
 *
 * Fails closed: when a parameter name is not valid percent-encoding (`%zz`, `%E0%A4`), nothing says how a server
 * reads it, so the whole query is replaced: `/path?[REDACTED]`. A URL without `?`, `;` or `#` is returned as is.
 *
 * @example
 * ```ts
 * redactUrl('/cb?access%5Ftoken=eyJ...&state=abc') // '/cb?access%5Ftoken=[REDACTED]&state=abc'
 * ```
 */
export function redactUrl(url: string): string {
  const start = queryStart(url)
  if (start === -1) return url
  const query = redactQuery(url.slice(start + 1), 0)
  return url.slice(0, start + 1) + (query ?? REDACTED)
}

function queryStart(url: string): number {
  return earliest(earliest(url.indexOf('?'), url.indexOf(';')), url.indexOf('#'))
}

function earliest(a: number, b: number): number {
  return a === -1 || (b !== -1 && b < a) ? b : a
}

/** The query with secret values replaced, or null when a name cannot be decoded (fail closed). */
function redactQuery(query: string, depth: number): string | null {
  let result = ''
  let start = 0
  for (;;) {
    const end = query.indexOf('&', start)
    const segment = redactSegment(query.slice(start, end === -1 ? query.length : end), depth)
    if (segment === null) return null
    result += segment
    if (end === -1) return result
    result += '&'
    start = end + 1
  }
}

/**
 * One `&`-separated segment: the part of the query that is a single parameter to Fastify. Its soft-separated
 * parts are read as parameters too; from the first secret one on, the rest of the segment is redacted, since to
 * Fastify it is all the value.
 */
function redactSegment(segment: string, depth: number): string | null {
  let start = 0
  for (;;) {
    const soft = nextSoftSeparator(segment, start)
    const part = segment.slice(start, soft)
    const equals = part.indexOf('=')
    const verdict = classifyName(equals === -1 ? part : part.slice(0, equals))
    if (verdict === 'malformed') return null
    // A token is hidden whatever it is called (`?t=eyJ...`, or a bare `?eyJ...`): only its name says which
    // parameter it was, and a name may itself be the token.
    if (equals === -1 || verdict === 'plain') {
      if (equals !== -1 && !carriesJwt(part.slice(0, equals)) && carriesJwt(part.slice(equals + 1))) {
        return segment.slice(0, start + equals + 1) + REDACTED
      }
      if (carriesJwt(part)) return segment.slice(0, start) + REDACTED
    }
    if (verdict === 'secret-in-name') return segment.slice(0, start) + REDACTED
    if (verdict === 'secret' && equals !== -1) return segment.slice(0, start + equals + 1) + REDACTED
    if (verdict === 'plain' && equals !== -1 && hidesSecret(part.slice(equals + 1), depth)) {
      return segment.slice(0, start + equals + 1) + REDACTED
    }
    if (soft === segment.length) return segment
    // To Fastify, `access_token;xyz=1` is one name: a secret name followed by a separator, like `%3B`.
    if (verdict === 'secret') return segment.slice(0, start) + REDACTED
    start = soft + 1
  }
}

// Parsers disagree on what separates parameters, and a redactor must hide a value under the reading that makes
// it longest and find a name under every reading. Fastify (fast-querystring) and qs split on `&` only, so a
// secret's value runs to the next `&`. Others also split on `;` (HTML 4's recommendation to servers), and a raw
// `?` or `#` inside the query may start a nested one (a redirect URI pasted unencoded): names are also looked for
// after each of those, without cutting a value short.
/** Index of the next `;`, `?` or `#` from `from`, or the text's length. */
function nextSoftSeparator(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 59 || c === 63 || c === 35) return i
  }
  return text.length
}

// The start of a JOSE header (base64url of `{"`), at least the rest of a short `alg` header, then a dot and a
// second part: a compact JWS or JWE (RFC 7515 §7.1, RFC 7516 §7.1), whichever claims it carries.
const JWT_SHAPE = /eyJ[\w-]{8,}\.[\w-]+/

/** Whether a query name or value holds a compact JWT, as sent or percent-encoded (`%65yJ...`). */
function carriesJwt(text: string): boolean {
  if (JWT_SHAPE.test(text)) return true
  if (!text.includes('%')) return false
  const decoded = decodeName(text)
  return decoded !== null && JWT_SHAPE.test(decoded)
}

function classifyName(raw: string): NameVerdict {
  if (raw === '') return 'plain'
  // The common case: nothing to decode, and no separator can be in the name (the query was split on them).
  if (!raw.includes('%') && !raw.includes('+') && !raw.includes('\0')) return isSecretName(raw) ? 'secret' : 'plain'
  const decoded = decodeName(raw)
  if (decoded === null) return 'malformed'
  const pieces = decoded.split(DECODED_SEPARATORS)
  if (!pieces.some(isSecretName)) return 'plain'
  return pieces.length === 1 ? 'secret' : 'secret-in-name'
}

// Fastify decodes once; a name decoded once more (`access%255Ftoken`) is still matched, for an application that
// decodes again. Only the first decoding can fail the query: a later `%` is the name's own text.
const MAX_DECODINGS = 3

function decodeName(raw: string): string | null {
  let name = raw.includes('+') ? raw.replaceAll('+', ' ') : raw
  for (let i = 0; i < MAX_DECODINGS && name.includes('%'); i++) {
    try {
      name = decodeURIComponent(name)
    } catch {
      return i === 0 ? null : name
    }
  }
  return name
}

function isSecretName(piece: string): boolean {
  const bracket = piece.indexOf('[')
  const name = (bracket === -1 ? piece : piece.slice(0, bracket)).trim().toLowerCase()
  if (SECRET_NAMES.has(name)) return true
  const dot = name.indexOf('.')
  if (dot !== -1 && SECRET_NAMES.has(name.slice(0, dot))) return true
  return (dot !== -1 || name.includes(' ') || name.includes('+')) && SECRET_NAMES.has(name.replace(/[ .+]/g, '_'))
}

// How many nested, percent-encoded URLs are searched (`redirect_uri=https%3A%2F%2Fapp%2Fcb%3Fcode%3D...`); a
// value nested deeper is redacted: nothing legitimate encodes a URL in a URL in a URL in a URL.
const MAX_NESTING = 3

/** Whether a value percent-decodes to a URL or query carrying a secret parameter (an encoded redirect URI). */
function hidesSecret(value: string, depth: number): boolean {
  if (!value.includes('%')) return false
  let decoded: string
  try {
    decoded = decodeURIComponent(value.replaceAll('+', ' '))
  } catch {
    // Fastify keeps such a value as received, and its raw text was searched already.
    return false
  }
  if (!decoded.includes('=')) return false
  if (depth >= MAX_NESTING) return true
  // Soft separators include `?` and `#`, so a whole URL (`https://app/cb?code=...`) reads as a query too.
  return redactQuery(decoded, depth + 1) !== decoded
}

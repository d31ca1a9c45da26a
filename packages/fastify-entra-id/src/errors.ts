/**
 * Errors raised while authenticating and authorizing a request, each with a stable `code`, the HTTP
 * `statusCode` to answer with, what is wrong (`message`, and `required` for a 403) and the response `headers`
 * (the RFC 6750 `WWW-Authenticate` challenge), rendered from those when read, in the error's `realm`. The
 * verifier raises them without a realm; the Fastify adapter sets its own ({@link EntraAuthError.inRealm}).
 *
 * Fastify's default error handler already sends `statusCode`, `code`, `message` and `headers`; an application
 * with its own error handler must copy `error.headers` onto the reply (see the README), or the challenge is lost.
 *
 * @packageDocumentation
 */

import { DEFAULT_REALM, bearerChallenge } from './challenge.js'

/** RFC 6750 §3.1 error codes. */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope'

/** Stable codes of {@link EntraAuthError}; match on these, never on message text. */
export type EntraAuthErrorCode =
  | 'ENTRA_TOKEN_MISSING'
  | 'ENTRA_INVALID_REQUEST'
  | 'ENTRA_TOKEN_MALFORMED'
  | 'ENTRA_TOKEN_EXPIRED'
  | 'ENTRA_TOKEN_NOT_YET_VALID'
  | 'ENTRA_TOKEN_INVALID_SIGNATURE'
  | 'ENTRA_TOKEN_UNSUPPORTED_ALGORITHM'
  | 'ENTRA_TOKEN_UNTRUSTED_KEY'
  | 'ENTRA_TOKEN_UNKNOWN_KEY'
  | 'ENTRA_TOKEN_INVALID_ISSUER'
  | 'ENTRA_TOKEN_INVALID_AUDIENCE'
  | 'ENTRA_TOKEN_TENANT_NOT_ALLOWED'
  | 'ENTRA_TOKEN_VERSION_MISMATCH'
  | 'ENTRA_TOKEN_NOT_ACCESS_TOKEN'
  | 'ENTRA_TOKEN_INVALID_CLAIMS'
  | 'ENTRA_INSUFFICIENT_SCOPE'
  | 'ENTRA_KEYS_UNAVAILABLE'

const STATUS_TEXT: Readonly<Record<number, string>> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  503: 'Service Unavailable'
}

/** Options shared by every {@link EntraAuthError} constructor. */
export interface EntraAuthErrorOptions {
  /** The `realm` of the `WWW-Authenticate` challenge; an adapter may set another with `inRealm`. Default `"api"`. */
  realm?: string
  /** The underlying error (a jose error, a fetch failure), kept for logs; never sent to the caller. */
  cause?: unknown
}

// The `stack` of every EntraAuthError: its first line, computed when read (a subclass sets `name` after the base
// constructor ran); assigning a stack still works.
const FRAMELESS_STACK: PropertyDescriptor = {
  configurable: true,
  enumerable: false,
  get(this: Error): string {
    return `${this.name}: ${this.message}`
  },
  set(this: Error, value: unknown): void {
    Object.defineProperty(this, 'stack', { value, writable: true, configurable: true, enumerable: false })
  }
}

/**
 * Base of every error this package raises while handling a request. `message` is safe to send to the caller:
 * it never contains token content.
 *
 * Its `stack` is its first line only (`InvalidTokenError: The token expired`), without frames. A refusal is an
 * expected outcome, not a fault: it is raised at a few known places and its `code` says which, so frames would
 * only turn the one log line of each refused request (Fastify logs 4xx errors at `info`) into a stack trace.
 * The `cause`, when there is one (a fetch failure behind a 503), keeps its own stack.
 */
export abstract class EntraAuthError extends Error {
  /** Stable machine-readable code. */
  readonly code: EntraAuthErrorCode
  /** HTTP status to answer with: 400, 401, 403 or 503. */
  readonly statusCode: number
  /** RFC 6750 error code, when the challenge carries one. */
  readonly bearerError: BearerErrorCode | undefined
  #realm: string

  protected constructor(
    code: EntraAuthErrorCode,
    statusCode: number,
    message: string,
    bearerError: BearerErrorCode | undefined,
    options: EntraAuthErrorOptions
  ) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
    this.statusCode = statusCode
    this.bearerError = bearerError
    this.#realm = options.realm ?? DEFAULT_REALM
    Object.defineProperty(this, 'stack', FRAMELESS_STACK)
  }

  /** The `realm` its challenge names. Default `"api"`. */
  get realm(): string {
    return this.#realm
  }

  /**
   * Response headers: the `WWW-Authenticate` challenge in {@link realm}, and `Retry-After` for 503. Rendered when
   * read (only refusals pay for it), so they follow {@link inRealm}.
   */
  get headers(): Readonly<Record<string, string>> {
    return this.renderHeaders(this.#realm)
  }

  /**
   * Sets the realm its challenge names, and returns the error: what an HTTP adapter calls before sending an error
   * the verifier raised (the verifier knows no realm).
   */
  inRealm(realm: string): this {
    this.#realm = realm
    return this
  }

  /** The HTTP reason phrase for {@link statusCode}, as Fastify puts in the `error` field of its error body. */
  get error(): string {
    return STATUS_TEXT[this.statusCode] ?? 'Error'
  }

  /** The response headers of this error in `realm`. */
  protected renderHeaders(realm: string): Record<string, string> {
    return { 'www-authenticate': bearerChallenge(realm, { error: this.bearerError, error_description: this.message }) }
  }
}

/** 401: the request carries no bearer token (RFC 6750 §3.1: the challenge then carries no error code). */
export class MissingTokenError extends EntraAuthError {
  override readonly name = 'MissingTokenError'
  constructor(options: EntraAuthErrorOptions = {}) {
    super('ENTRA_TOKEN_MISSING', 401, 'Authentication required: send an access token as "Authorization: Bearer <token>"',
      undefined, options)
  }

  protected override renderHeaders(realm: string): Record<string, string> {
    return { 'www-authenticate': bearerChallenge(realm) }
  }
}

/** 400 `invalid_request`: the Authorization header or the request's way of sending the token is malformed. */
export class InvalidRequestError extends EntraAuthError {
  override readonly name = 'InvalidRequestError'
  constructor(description: string, options: EntraAuthErrorOptions = {}) {
    super('ENTRA_INVALID_REQUEST', 400, description, 'invalid_request', options)
  }
}

/** Codes of {@link InvalidTokenError}. */
export type InvalidTokenCode = Exclude<EntraAuthErrorCode,
  'ENTRA_TOKEN_MISSING' | 'ENTRA_INVALID_REQUEST' | 'ENTRA_INSUFFICIENT_SCOPE' | 'ENTRA_KEYS_UNAVAILABLE'>

/** 401 `invalid_token`: the token is malformed, expired, badly signed or not meant for this API. */
export class InvalidTokenError extends EntraAuthError {
  override readonly name = 'InvalidTokenError'
  constructor(code: InvalidTokenCode, description: string, options: EntraAuthErrorOptions = {}) {
    super(code, 401, description, 'invalid_token', options)
  }
}

/** 403 `insufficient_scope`: the token is valid but lacks the scope or app role the route requires. */
export class InsufficientScopeError extends EntraAuthError {
  override readonly name = 'InsufficientScopeError'
  /** The scopes or app roles that would satisfy the route, as listed in the challenge's `scope` attribute. */
  readonly required: readonly string[]
  constructor(required: readonly string[], description: string, options: EntraAuthErrorOptions = {}) {
    super('ENTRA_INSUFFICIENT_SCOPE', 403, description, 'insufficient_scope', options)
    this.required = required
  }

  protected override renderHeaders(realm: string): Record<string, string> {
    return {
      'www-authenticate': bearerChallenge(realm, {
        error: 'insufficient_scope',
        error_description: this.message,
        scope: this.required.length > 0 ? this.required.join(' ') : undefined
      })
    }
  }
}

/**
 * 503: the tenant's discovery document or signing keys cannot be loaded (identity provider unreachable, slow or
 * answering garbage). Not the caller's fault, so no `invalid_token`; `Retry-After` says when to try again.
 */
export class KeysUnavailableError extends EntraAuthError {
  override readonly name = 'KeysUnavailableError'
  /** Seconds until the next attempt to load keys, as sent in `Retry-After`. */
  readonly retryAfter: number
  constructor(retryAfterSeconds: number, options: EntraAuthErrorOptions = {}) {
    const retryAfter = Math.max(1, Math.ceil(retryAfterSeconds))
    super('ENTRA_KEYS_UNAVAILABLE', 503, 'The identity provider\'s signing keys are unavailable; retry later',
      undefined, options)
    this.retryAfter = retryAfter
  }

  // No challenge: an outage is not the caller's fault (RFC 6750 §3 defines none for it).
  protected override renderHeaders(): Record<string, string> {
    return { 'retry-after': String(this.retryAfter) }
  }
}

/** Codes of {@link EntraUsageError}. */
export type EntraUsageErrorCode = 'ENTRA_PLUGIN_MISSING' | 'ENTRA_NOT_AUTHENTICATED'

/**
 * 500: the application uses the package wrongly: a guard in an app without the plugin
 * (`ENTRA_PLUGIN_MISSING`), or `requireAuth` on a route that neither authenticates nor guards
 * (`ENTRA_NOT_AUTHENTICATED`). A bug in the application, not the caller's fault: no challenge, and a stack.
 */
export class EntraUsageError extends Error {
  override readonly name = 'EntraUsageError'
  /** Stable machine-readable code. */
  readonly code: EntraUsageErrorCode
  /** Always 500. */
  readonly statusCode = 500
  constructor(code: EntraUsageErrorCode, message: string) {
    super(message)
    this.code = code
  }
}

/** Thrown at registration (or by a guard factory) when an option or argument is invalid; names the option. */
export class EntraConfigError extends TypeError {
  override readonly name = 'EntraConfigError'
  /** Always `ENTRA_CONFIG_INVALID`. */
  readonly code = 'ENTRA_CONFIG_INVALID'
  /** The option or argument at fault, e.g. `"tenantId"`. */
  readonly option: string
  constructor(option: string, message: string) {
    super(`fastify-entra-id: "${option}" ${message}`)
    this.option = option
  }
}

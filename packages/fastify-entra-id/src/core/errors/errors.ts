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
import { httpsUrl } from '../../util/https-url.js'
import { EntraConfigError } from '../../util/config-error.js'

export { EntraConfigError }

/** RFC 6750 §3.1 error codes, and Microsoft's `insufficient_claims` (a claims challenge). */
export type BearerErrorCode = 'invalid_request' | 'invalid_token' | 'insufficient_scope' | 'insufficient_claims'

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
  | 'ENTRA_TOKEN_FOR_GRAPH'
  | 'ENTRA_TOKEN_ID_TOKEN'
  | 'ENTRA_INSUFFICIENT_SCOPE'
  | 'ENTRA_INSUFFICIENT_CLAIMS'
  | AccessDeniedCode
  | 'ENTRA_KEYS_UNAVAILABLE'
  | 'ENTRA_DOWNSTREAM_UNAVAILABLE'
  | 'ENTRA_TOKEN_POLICY_NOT_ALLOWED'
  | 'ENTRA_TENANT_LOOKUP_FAILED'

/** Codes of {@link AccessDeniedError}: a valid token refused by a rule other than scopes and app roles. */
export type AccessDeniedCode =
  | 'ENTRA_AUTH_CONTEXT_REQUIRED'
  | 'ENTRA_CLAIM_REQUIRED'
  | 'ENTRA_GROUPS_OVERAGE'
  | 'ENTRA_GUEST_NOT_ALLOWED'
  | 'ENTRA_CONSENT_REQUIRED'
  | 'ENTRA_USER_REQUIRED'

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
  /** {@link EntraAuthError.details}. Default: none. */
  details?: RefusalDetails | undefined
}

/**
 * What a verified token said against what the API accepts, for a refusal's log line: claim values (`aud`, `iss`,
 * `tid`) and the API's accepted values. None is a secret, and none is the token or its signature.
 */
export type RefusalDetails = Readonly<Record<string, string | readonly string[]>>

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
  /**
   * For the log, never the answer: what the token said against what the API accepts, on the refusals a developer
   * cannot debug without (audience, issuer, tenant), e.g. `{ aud, audiences }`. Pino's error serializer logs it
   * with the error; an application's own error handler adds it to its line.
   */
  readonly details: RefusalDetails | undefined
  #realm: string
  #resourceMetadata: string | undefined
  #resourceScopes: readonly string[] = []

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
    this.details = options.details
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
    return this.renderHeaders(this.#realm, this.#resourceMetadata)
  }

  /**
   * The URL of the RFC 9728 protected-resource metadata its challenge points at (`resource_metadata`), when set.
   */
  get resourceMetadata(): string | undefined {
    return this.#resourceMetadata
  }

  /**
   * Sets the RFC 9728 metadata URL its challenge names as `resource_metadata` (`undefined`: none), and the
   * resource's full scope strings (its `scopes_supported`), and returns the error. The plugin sets both for
   * requests under a configured protected resource.
   */
  forResource(metadataUrl: string | undefined, scopes: readonly string[] = []): this {
    this.#resourceMetadata = metadataUrl
    this.#resourceScopes = scopes
    return this
  }

  /**
   * The full scope strings of the resource for `names`: a name found at the end of one of the resource's scopes
   * (`Todo.Write` in `https://todo.contoso.com/mcp/Todo.Write`) is written as that scope, which is what a client
   * must request from Entra; any other name (an app role) stays as it is.
   */
  protected qualifiedScopes(names: readonly string[]): string[] {
    const scopes = this.#resourceScopes
    return names.map((name) => scopes.find((scope) => scope === name || scope.endsWith(`/${name}`)) ?? name)
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

  /** The response headers of this error in `realm`, its challenge naming `resourceMetadata` when given. */
  protected renderHeaders(realm: string, resourceMetadata: string | undefined): Record<string, string> {
    return {
      'www-authenticate': bearerChallenge(realm, { resource_metadata: resourceMetadata, error: this.bearerError, error_description: this.message })
    }
  }
}

/** 401: the request carries no bearer token (RFC 6750 §3.1: the challenge then carries no error code). */
export class MissingTokenError extends EntraAuthError {
  override readonly name = 'MissingTokenError'
  constructor(options: EntraAuthErrorOptions = {}) {
    super('ENTRA_TOKEN_MISSING', 401, 'Authentication required: send an access token as "Authorization: Bearer <token>"',
      undefined, options)
  }

  protected override renderHeaders(realm: string, resourceMetadata: string | undefined): Record<string, string> {
    return { 'www-authenticate': bearerChallenge(realm, { resource_metadata: resourceMetadata }) }
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
  'ENTRA_TOKEN_MISSING' | 'ENTRA_INVALID_REQUEST' | 'ENTRA_INSUFFICIENT_SCOPE' | 'ENTRA_INSUFFICIENT_CLAIMS' |
  AccessDeniedCode | 'ENTRA_KEYS_UNAVAILABLE' | 'ENTRA_DOWNSTREAM_UNAVAILABLE' | 'ENTRA_TENANT_LOOKUP_FAILED'>

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
  /**
   * The scopes or app roles that would satisfy the route, as listed in the challenge's `scope` attribute (there,
   * under a protected resource, a scope is written as the resource's full scope string).
   */
  readonly required: readonly string[]
  constructor(required: readonly string[], description: string, options: EntraAuthErrorOptions = {}) {
    super('ENTRA_INSUFFICIENT_SCOPE', 403, description, 'insufficient_scope', options)
    this.required = required
  }

  protected override renderHeaders(realm: string, resourceMetadata: string | undefined): Record<string, string> {
    return {
      'www-authenticate': bearerChallenge(realm, {
        resource_metadata: resourceMetadata,
        error: 'insufficient_scope',
        error_description: this.message,
        scope: this.required.length > 0 ? this.qualifiedScopes(this.required).join(' ') : undefined
      })
    }
  }
}

/**
 * 403 `insufficient_scope`, with a code of its own: the token is valid, its scopes and roles may be too, but the
 * route requires something else of the caller: an authentication context the client cannot be asked for
 * (`ENTRA_AUTH_CONTEXT_REQUIRED`), a claim value (`ENTRA_CLAIM_REQUIRED`), group membership the token cannot tell
 * (`ENTRA_GROUPS_OVERAGE`), or a member rather than a guest (`ENTRA_GUEST_NOT_ALLOWED`); for a call to a downstream
 * API on the caller's behalf (`fastify-entra-id/downstream`), consent the user or an administrator has not given
 * (`ENTRA_CONSENT_REQUIRED`), or a user at all, as an application calling with its own identity has no one to act
 * for (`ENTRA_USER_REQUIRED`). The challenge carries no `scope`: no scope of this API would help.
 */
export class AccessDeniedError extends EntraAuthError {
  override readonly name = 'AccessDeniedError'
  constructor(code: AccessDeniedCode, description: string, options: EntraAuthErrorOptions = {}) {
    super(code, 403, description, 'insufficient_scope', options)
  }
}

/** Options of {@link InsufficientClaimsError}. */
export interface InsufficientClaimsErrorOptions extends EntraAuthErrorOptions {
  /**
   * Where the client sends the user to satisfy the claims: `{authorityHost}/{tenant}/oauth2/v2.0/authorize`.
   * Microsoft's challenge format requires it: `fastify.entraId.claimsChallenge` fills it in from the verified
   * caller's tenant, which is the way to raise one. Default: none (the challenge then has no `authorization_uri`).
   */
  authorizationUri?: string | undefined
}

/**
 * 401 `insufficient_claims`: a claims challenge (Microsoft identity platform, "Claims challenges, claims requests
 * and client capabilities"). The token is valid but lacks claims that only a new sign-in can add (a Conditional
 * Access authentication context, MFA); the challenge tells a client that declared the `cp1` capability which
 * claims to request:
 * `Bearer realm="...", authorization_uri="...", error="insufficient_claims", claims="<base64 of the claims JSON>"`.
 *
 * Raise one from a handler with `fastify.entraId.claimsChallenge(request, claims)`, which sets the realm,
 * `authorization_uri` and `resource_metadata` (a bare instance has none of the plugin's), with any claims request
 * (for example one a downstream API answered with); the `requireAuthContext` guard raises it for authentication
 * contexts. Send it only to a client that can handle it (`canHandleClaimsChallenges`).
 */
export class InsufficientClaimsError extends EntraAuthError {
  override readonly name = 'InsufficientClaimsError'
  /** The claims request, minified JSON, e.g. `{"access_token":{"acrs":{"essential":true,"value":"c1"}}}`. */
  readonly claims: string
  /** The `authorization_uri` of the challenge, when known. */
  readonly authorizationUri: string | undefined

  /**
   * @param claims - the claims request: a JSON object, or its JSON text (minified here).
   * @throws {@link EntraConfigError} when `claims` is not a JSON object (or its text), or `authorizationUri` is not
   *   an absolute `https` URL (loopback `http` allowed).
   */
  constructor(claims: string | Readonly<Record<string, unknown>>, description: string, options: InsufficientClaimsErrorOptions = {}) {
    super('ENTRA_INSUFFICIENT_CLAIMS', 401, description, 'insufficient_claims', options)
    this.claims = claimsJson(claims)
    this.authorizationUri = options.authorizationUri === undefined ? undefined : checkAuthorizationUri(options.authorizationUri)
  }

  protected override renderHeaders(realm: string, resourceMetadata: string | undefined): Record<string, string> {
    return {
      'www-authenticate': bearerChallenge(realm, {
        resource_metadata: resourceMetadata,
        authorization_uri: this.authorizationUri,
        error: 'insufficient_claims',
        claims: Buffer.from(this.claims, 'utf8').toString('base64')
      })
    }
  }
}

function claimsJson(claims: unknown): string {
  let value: unknown = claims
  if (typeof claims === 'string') {
    try {
      value = JSON.parse(claims)
    } catch {
      value = undefined
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new EntraConfigError('claims', 'must be a claims request: a JSON object such as {"access_token":{...}}, or its text')
  }
  return JSON.stringify(value)
}

function checkAuthorizationUri(uri: unknown): string {
  if (httpsUrl(uri) === undefined) {
    throw new EntraConfigError('authorizationUri', 'must be an absolute https URL (http only for loopback hosts) without credentials or a fragment')
  }
  return uri as string
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

/**
 * 503 `ENTRA_DOWNSTREAM_UNAVAILABLE`: a call made on the caller's behalf failed for a reason that is not the caller's
 * fault and may pass: Entra's token endpoint answered 5xx or 429, or did not answer within the timeout, or the
 * downstream API did not. No challenge; `Retry-After` says when to try again.
 */
export class DownstreamUnavailableError extends EntraAuthError {
  override readonly name = 'DownstreamUnavailableError'
  /** Seconds the caller should wait before trying again, as sent in `Retry-After`. */
  readonly retryAfter: number
  constructor(retryAfterSeconds: number, description: string, options: EntraAuthErrorOptions = {}) {
    super('ENTRA_DOWNSTREAM_UNAVAILABLE', 503, description, undefined, options)
    this.retryAfter = Math.max(1, Math.ceil(retryAfterSeconds))
  }

  protected override renderHeaders(): Record<string, string> {
    return { 'retry-after': String(this.retryAfter) }
  }
}

/**
 * 503 `ENTRA_TENANT_LOOKUP_FAILED`: the `allowedTenants` function failed (threw, rejected, or answered neither
 * `true` nor `false`) for a verified token's tenant. The token may well be good, so no `invalid_token` and no
 * challenge; `Retry-After` says when to try again, and the failure is not cached: the next request asks again.
 * The function's error is the `cause`, for logs.
 */
export class TenantLookupError extends EntraAuthError {
  override readonly name = 'TenantLookupError'
  /** Seconds, as sent in `Retry-After`: always 5, a short wait for a database or directory to answer again. */
  readonly retryAfter: number = 5
  constructor(options: EntraAuthErrorOptions = {}) {
    super('ENTRA_TENANT_LOOKUP_FAILED', 503, 'Whether the token\'s tenant may call this API cannot be checked now; retry later',
      undefined, options)
  }

  protected override renderHeaders(): Record<string, string> {
    return { 'retry-after': String(this.retryAfter) }
  }
}

/** Codes of {@link EntraUsageError}. */
export type EntraUsageErrorCode = 'ENTRA_PLUGIN_MISSING' | 'ENTRA_NOT_AUTHENTICATED' | 'ENTRA_DOWNSTREAM_REJECTED'

/**
 * 500: the application uses the package wrongly: a guard in an app without the plugin
 * (`ENTRA_PLUGIN_MISSING`), or `requireAuth` on a route that neither authenticates nor guards
 * (`ENTRA_NOT_AUTHENTICATED`), or Entra refusing the API's own request for a downstream token for a reason no caller
 * can fix (`ENTRA_DOWNSTREAM_REJECTED`: a wrong or expired client credential, an unknown scope; Entra's answer is its
 * `cause`). A bug in the application or its registration, not the caller's fault: no challenge, and a stack.
 */
export class EntraUsageError extends Error {
  override readonly name = 'EntraUsageError'
  /** Stable machine-readable code. */
  readonly code: EntraUsageErrorCode
  /** Always 500. */
  readonly statusCode = 500
  constructor(code: EntraUsageErrorCode, message: string, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause })
    this.code = code
  }
}

/**
 * The base of the errors raised while authenticating and authorizing a request, each with a stable `code`, the
 * HTTP `statusCode` to answer with, what is wrong (`message`, and `required` for a 403) and the response `headers`
 * (the RFC 6750 `WWW-Authenticate` challenge), rendered from those when read, in the error's `realm`. The
 * verifier raises them without a realm; the Fastify adapter sets its own ({@link EntraAuthError.inRealm}).
 *
 * Fastify's default error handler already sends `statusCode`, `code`, `message` and `headers`; an application
 * with its own error handler must copy `error.headers` onto the reply (https://github.com/fastify-entra-id/fastify-entra-id/blob/main/docs/how-to/custom-error-handler.md), or the challenge is lost.
 *
 * @packageDocumentation
 */

import { DEFAULT_REALM, bearerChallenge } from './challenge.js'
import type { BearerErrorCode, EntraAuthErrorCode } from './codes.js'
import { fullScope } from '../../util/full-scope.js'

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
    return names.map((name) => fullScope(this.#resourceScopes, name))
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

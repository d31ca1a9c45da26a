import type { FastifyRequest } from 'fastify'
import type { EntraAuthError } from '../core/errors/auth-error.js'
import type { InsufficientClaimsError } from '../core/errors/claims-challenge.js'
import type { EntraIdentity } from '../core/identity/identity.js'
import type { EntraIdOptions } from '../core/options/entra-id-options.js'
import type { EntraTokenVerifier } from '../core/verification/verifier.js'
import type { TelemetryOptions } from '../core/options/telemetry-options.js'
import type { ProtectedResourceOptions } from '../metadata/protected-resource.js'
import type { EntraHook } from './dual-hook.js'
import type { CertificateBindingOptions } from './client-certificate.js'

// The plugin's types, apart from the plugin itself: guards and the downstream subpath need the decorator's type,
// and the plugin needs the guards, so the type lives where both can import it without a cycle.

/** Options of the plugin: the verifier's {@link EntraIdOptions}, plus how the plugin logs. */
export interface EntraIdPluginOptions extends EntraIdOptions {
  /**
   * Bind the verified caller's `tid`, `oid`, `azp` and `caller` (its `callerType`: `user`, `app`, `agent`,
   * `agentForUser` or `agentUser`), and an agent's `blueprint` (`xms_par_app_azp`, or `null`), to the request's
   * logger, so every later log line of the request (including Fastify's "request completed") names the caller.
   * Default `true`.
   */
  logCaller?: boolean | undefined
  /**
   * How the logs name an option when they say which setting to check, e.g. `(option) => ({ tenantId:
   * 'AZURE_TENANT_ID' })[option] ?? option` for an application configured by environment variables. Called with
   * `tenantId` or `authorityHost`. Default: the option's own name.
   */
  settingName?: ((option: string) => string) | undefined
  /**
   * Whether guests (`accountType` `guest`: users invited from another organization, or personal accounts) may call
   * the API. `false` makes `authenticate`, `authenticateOptional` and every guard refuse them with a 403
   * `ENTRA_GUEST_NOT_ALLOWED`; for some routes only, use the `requireMember` guard. Default `true`, as Entra issues
   * tokens to the guests a tenant invites.
   */
  allowGuests?: boolean | undefined
  /**
   * Protected resources whose RFC 9728 metadata the plugin publishes, at `/.well-known/oauth-protected-resource`
   * followed by each resource identifier's path (`https://todo.contoso.com/mcp` is described at
   * `/.well-known/oauth-protected-resource/mcp`), and whose requests' challenges (401, 400 and 403) carry
   * `resource_metadata` with that document's URL, as the MCP authorization specification requires. Each identifier
   * must be one of `audience`, exactly (an Application ID URI of the API's registration, without a final `/`), and
   * each scope written under a URI must be under one of `audience`: Entra refuses clients otherwise
   * (AADSTS9010010), so registration fails with an `EntraConfigError` naming the resource. Register the plugin on
   * the root instance for these routes to sit at the root. Default: none.
   */
  protectedResources?: readonly ProtectedResourceOptions[] | undefined
  /**
   * OpenTelemetry metrics and span attributes, recorded when the application has OpenTelemetry:
   * `@opentelemetry/api` installed and a MeterProvider or TracerProvider registered globally before this plugin
   * registers (nothing is loaded or subscribed otherwise). `false` turns them off; an object opts in to attributes
   * that name people or tenants ({@link TelemetryOptions}). The metrics, spans and `node:diagnostics_channel`
   * channels are listed in the README's Telemetry section. Default `true`.
   */
  telemetry?: boolean | TelemetryOptions | undefined
  /**
   * Certificate-bound access tokens (RFC 8705): whether a token whose `cnf` claim carries `x5t#S256` must come over
   * a connection authenticated with that client certificate, and where a trusted proxy forwards it
   * ({@link CertificateBindingOptions}). Default: `ignored`.
   */
  certificateBinding?: CertificateBindingOptions | undefined
}

/** What the plugin adds to the Fastify instance, as `fastify.entraId`. */
export interface EntraIdDecorator {
  /** The verifier, made once at registration. */
  readonly verifier: EntraTokenVerifier
  /** The `realm` of the plugin's `WWW-Authenticate` challenges. */
  readonly realm: string
  /**
   * A hook that requires a valid access token and sets `request.auth`. Add it as a route's `onRequest` (or with
   * `addHook('onRequest', ...)` in an encapsulated context), so an unauthenticated caller is refused before its
   * body is read; or `await` it from your own hook.
   */
  readonly authenticate: EntraHook
  /**
   * Like {@link authenticate}, for routes that serve anonymous callers too: a request without credentials (no
   * `Authorization` header, or another scheme than Bearer) passes with `request.auth` left `null`; a bad bearer
   * token is refused exactly as by `authenticate` (401 `invalid_token`, 400, 503).
   */
  readonly authenticateOptional: EntraHook
  /**
   * A claims challenge for this request: a 401 `insufficient_claims` whose `authorization_uri` is the caller's
   * tenant's (else the configured tenant's) authorization endpoint, in the plugin's realm. Throw it from a handler
   * with the claims request you got, for example from a downstream API's own challenge.
   *
   * @param claims - the claims request, a JSON object or its text.
   * @param description - the response's `message`. Default: a sentence asking the client to sign in again.
   * @throws {@link EntraConfigError} when `claims` is not a JSON object.
   */
  claimsChallenge(request: FastifyRequest, claims: string | Readonly<Record<string, unknown>>, description?: string): InsufficientClaimsError
  /**
   * Prepares `error` as the plugin prepares its own refusals: in the plugin's realm, and naming the request's
   * protected-resource metadata (`resource_metadata`) when the request is under one of `protectedResources`.
   * Returns `error`. For refusals an application raises itself, e.g. `throw app.entraId.challengeFor(request, new
   * InsufficientScopeError(['Todo.Write'], 'Writing needs Todo.Write'))`.
   */
  challengeFor<E extends EntraAuthError>(request: FastifyRequest, error: E): E
  /**
   * The URL of the RFC 9728 metadata of the protected resource `request` is under (the most specific one), or
   * `undefined` when none of `protectedResources` covers it.
   */
  resourceMetadataUrl(request: FastifyRequest): string | undefined
  /**
   * True once the tenant's discovery documents and keys are loaded; stays true through an identity-provider
   * outage while the loaded keys serve. For readiness probes.
   */
  isReady(): boolean
}

declare module 'fastify' {
  interface FastifyRequest {
    /** The verified caller; `null` until `fastify.entraId.authenticate` (or a guard) has verified the token. */
    auth: EntraIdentity | null
  }
  interface FastifyInstance {
    /**
     * fastify-entra-id: the verifier, the `authenticate` and `authenticateOptional` hooks, readiness, and the
     * helpers that prepare challenges (`claimsChallenge`, `challengeFor`, `resourceMetadataUrl`).
     */
    entraId: EntraIdDecorator
  }
}

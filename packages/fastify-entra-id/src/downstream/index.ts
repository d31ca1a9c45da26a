/**
 * fastify-entra-id/downstream: calls to other APIs (Microsoft Graph, your own) on behalf of the verified caller,
 * with the OAuth 2.0 on-behalf-of flow of msal-node (`acquireTokenOnBehalfOf`, the caller's token as the
 * assertion), against the caller's own tenant. Needs the optional peer dependency `@azure/msal-node`.
 *
 * @packageDocumentation
 */
import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyPluginAsync, FastifyRequest } from 'fastify'
import type { Agent } from 'node:https'
import { ConfidentialClientApplication } from '@azure/msal-node'
import type { AuthenticationResult, ICachePlugin } from '@azure/msal-node'
import { AccessDeniedError } from '../core/errors/refusals.js'
import { DownstreamUnavailableError } from '../core/errors/unavailable.js'
import { EntraUsageError } from '../core/errors/usage-error.js'
import { incomingToken } from '../fastify/incoming-token.js'
import { CacheBound } from './cache-bound.js'
import { msalCredential } from './credential.js'
import type { DownstreamCredential } from './credential.js'
import { TimedNetworkClient } from './network.js'
import { claimsOfChallenge, oboRefusal } from './refusal.js'
import { authorityEndpoint } from '../util/entra-urls.js'
import { checkScopes, httpsOrigin, positive } from './option-checks.js'
import { millisecondsSince, publishDownstreamEvent } from '../core/diagnostics/channels.js'

export { certificateCredentialFromPem } from './credential.js'
export type { DownstreamCredential } from './credential.js'
export { claimsOfChallenge } from './refusal.js'

/** Options of {@link fastifyEntraIdDownstream}. */
export interface DownstreamOptions {
  /** How the API authenticates itself to Entra: a secret, a certificate or a federated token file. Required. */
  credential: DownstreamCredential
  /**
   * Where msal-node asks for tokens: `{authorityHost}/{caller's tenant}/oauth2/v2.0/token`, an https origin.
   * Default: the fastify-entra-id plugin's `authorityHost` (`https://login.microsoftonline.com`).
   */
  authorityHost?: string | undefined
  /** The API's application (client) ID. Default: the `clientId` given to the fastify-entra-id plugin. */
  clientId?: string | undefined
  /**
   * How long one request to Entra's token endpoint may take, in milliseconds, before the caller gets a 503
   * `ENTRA_DOWNSTREAM_UNAVAILABLE`. Also the default deadline of {@link EntraIdDownstream.fetch}. Default 10000.
   */
  timeoutMs?: number | undefined
  /** The `Retry-After` of a 503 `ENTRA_DOWNSTREAM_UNAVAILABLE`, in seconds. Default 5. */
  retryAfterSeconds?: number | undefined
  /**
   * At most this many tokens obtained on callers' behalf stay in msal-node's in-memory cache (one per caller's
   * token and scopes); past it the expired and then the oldest are dropped. Default 10000.
   */
  maxCachedTokens?: number | undefined
  /**
   * msal-node's cache plugin, for a shared or persistent cache (Redis, ...). Default: none, so nothing leaves the
   * process's memory. The plugin's store then holds what it is given: bound it there.
   */
  cachePlugin?: ICachePlugin | undefined
  /**
   * An `https.Agent` for the requests to Entra's token endpoint only, in place of the fastify-entra-id plugin's
   * `network` option (which covers them, the discovery and key requests and the downstream calls: prefer it).
   * When given, those requests go through node:https with this agent, and `network` does not apply to them.
   * Default: none (the `network` option).
   */
  agent?: Agent | undefined
}

/** A token for a downstream API, obtained on the caller's behalf. Never log it. */
export interface DownstreamToken {
  /** The access token, to send as `Authorization: Bearer <accessToken>`. */
  readonly accessToken: string
  /** When it expires. */
  readonly expiresOn: Date
  /** Whether it came from the cache (no request to Entra). */
  readonly fromCache: boolean
}

/** Options of {@link EntraIdDownstream.fetch}: `fetch`'s own, plus the scopes of the downstream API. */
export interface DownstreamFetchInit extends RequestInit {
  /** The delegated scopes to ask for, e.g. `['https://graph.microsoft.com/User.Read']`. Required. */
  scopes: readonly string[]
}

/** What the plugin adds to the Fastify instance, as `fastify.entraIdDownstream`. */
export interface EntraIdDownstream {
  /**
   * A token for `scopes` on behalf of the caller of `request` (authenticated by fastify-entra-id): from the cache
   * while one for the same caller's token and scopes has more than five minutes left, else from Entra with the
   * on-behalf-of grant, against the caller's tenant.
   *
   * @throws an `InsufficientClaimsError` (401 `insufficient_claims`) carrying Entra's claims when the downstream API's
   *   Conditional Access needs more of the sign-in; an `AccessDeniedError` `ENTRA_CONSENT_REQUIRED` (403) when the
   *   user or an administrator has not consented, or `ENTRA_USER_REQUIRED` (403) for an app-only caller;
   *   a `DownstreamUnavailableError` (503) when Entra fails or times out; an `EntraUsageError` (500)
   *   `ENTRA_DOWNSTREAM_REJECTED` when Entra refuses the API's own credential or request, and
   *   `ENTRA_NOT_AUTHENTICATED` when the request was not authenticated.
   */
  acquireToken(request: FastifyRequest, scopes: readonly string[]): Promise<DownstreamToken>
  /**
   * `fetch(url, init)` with a token for `init.scopes` obtained by {@link acquireToken}. A downstream answer 401 with
   * a claims challenge (`error="insufficient_claims"`) is thrown as this API's own claims challenge, for its caller
   * to step up; every other answer is returned as is. No answer within `timeoutMs` (unless `init.signal` is given):
   * a 503 `ENTRA_DOWNSTREAM_UNAVAILABLE`.
   */
  fetch(request: FastifyRequest, url: string | URL, init: DownstreamFetchInit): Promise<Response>
  /** How many tokens msal-node's in-memory cache holds, as last counted. */
  readonly cachedTokens: number
}

declare module 'fastify' {
  interface FastifyInstance {
    /** fastify-entra-id/downstream: tokens and calls on behalf of the verified caller. */
    entraIdDownstream: EntraIdDownstream
  }
}

// Async for the same reason as the main plugin: an option error then rejects `register`.
// eslint-disable-next-line @typescript-eslint/require-await
const downstream: FastifyPluginAsync<DownstreamOptions> = async (fastify: FastifyInstance, options) => {
  const registered = (fastify as Partial<FastifyInstance>).entraId
  if (registered === undefined) throw new EntraUsageError('ENTRA_PLUGIN_MISSING', 'Register fastify-entra-id before fastify-entra-id/downstream')
  const entraId = registered
  const authorityHost = httpsOrigin(options.authorityHost ?? entraId.verifier.options.authorityHost)
  const clientId = options.clientId ?? entraId.verifier.options.clientId
  const timeoutMs = positive(options.timeoutMs ?? 10_000, 'timeoutMs')
  const retryAfterSeconds = positive(options.retryAfterSeconds ?? 5, 'retryAfterSeconds')
  const maxCachedTokens = positive(options.maxCachedTokens ?? 10_000, 'maxCachedTokens')

  const network = entraId.verifier.options.network
  const host = new URL(authorityHost).host
  const client = new ConfidentialClientApplication({
    auth: {
      clientId,
      // Per request, the caller's tenant; this one only names the cloud.
      authority: `${authorityHost}/organizations`,
      ...msalCredential(options.credential),
      // The cloud and its endpoints, given rather than discovered: no instance-discovery or OpenID configuration
      // request before the first token (msal fills `{tenant}` with each request's tenant).
      knownAuthorities: [host],
      authorityMetadata: JSON.stringify(endpointsOf(authorityHost))
    },
    ...(options.cachePlugin === undefined ? {} : { cache: { cachePlugin: options.cachePlugin } }),
    system: { networkClient: new TimedNetworkClient(timeoutMs, options.agent, network.fetch) }
  })
  const bound = new CacheBound(client.getTokenCache(), maxCachedTokens)

  async function acquireToken(request: FastifyRequest, scopes: readonly string[]): Promise<DownstreamToken> {
    checkScopes(scopes)
    const caller = request.auth
    const assertion = incomingToken(request)
    if (caller === null || assertion === undefined) {
      throw new EntraUsageError('ENTRA_NOT_AUTHENTICATED', 'acquireToken needs a request authenticated by fastify-entra-id (its authenticate hook or a guard)')
    }
    if (caller.isAppOnly) {
      // On-behalf-of exchanges a user's token: an application calling as itself has no user to act for.
      throw entraId.challengeFor(request, new AccessDeniedError('ENTRA_USER_REQUIRED', 'This operation acts on behalf of a signed-in user; an application token cannot be used'))
    }
    let result: AuthenticationResult | null
    const start = performance.now()
    try {
      result = await client.acquireTokenOnBehalfOf({
        oboAssertion: assertion,
        scopes: [...scopes],
        authority: `${authorityHost}/${caller.tenantId}`
      })
    } catch (error) {
      const refusal = oboRefusal(error, request, entraId, retryAfterSeconds)
      publishDownstreamEvent(() => ({ flow: 'on-behalf-of', outcome: (refusal as { code?: string }).code ?? 'error', durationMs: millisecondsSince(start) }))
      throw refusal
    }
    if (result === null || result.accessToken === '') {
      publishDownstreamEvent(() => ({ flow: 'on-behalf-of', outcome: 'ENTRA_DOWNSTREAM_REJECTED', durationMs: millisecondsSince(start) }))
      throw new EntraUsageError('ENTRA_DOWNSTREAM_REJECTED', 'Entra ID answered the on-behalf-of request without an access token')
    }
    const fromCache = result.fromCache
    publishDownstreamEvent(() => ({ flow: 'on-behalf-of', outcome: fromCache ? 'cached' : 'acquired', durationMs: millisecondsSince(start) }))
    if (!result.fromCache) bound.added()
    return { accessToken: result.accessToken, expiresOn: result.expiresOn ?? new Date(0), fromCache: result.fromCache }
  }

  async function downstreamFetch(request: FastifyRequest, url: string | URL, init: DownstreamFetchInit): Promise<Response> {
    const { scopes, ...rest } = init
    const token = await acquireToken(request, scopes)
    const headers = new Headers(rest.headers)
    headers.set('authorization', `Bearer ${token.accessToken}`)
    let response: Response
    try {
      response = await network.fetch(String(url), { ...rest, headers, signal: rest.signal ?? AbortSignal.timeout(timeoutMs) })
    } catch (error) {
      if (rest.signal == null && error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError' || error.name === 'TypeError')) {
        throw new DownstreamUnavailableError(retryAfterSeconds, 'A downstream API did not answer; retry later', { cause: error })
      }
      throw error
    }
    if (response.status === 401) {
      const claims = claimsOfChallenge(response.headers.get('www-authenticate'))
      if (claims !== undefined) {
        await response.body?.cancel()
        throw entraId.claimsChallenge(request, claims,
          'A downstream API requires more of this sign-in (Conditional Access, continuous access evaluation): sign in again with the claims of this challenge')
      }
    }
    return response
  }

  fastify.decorate('entraIdDownstream', {
    acquireToken,
    fetch: downstreamFetch,
    get cachedTokens() { return bound.size }
  } satisfies EntraIdDownstream)
}

/** The OpenID endpoints of every tenant of `authorityHost`, as msal-node's `authorityMetadata`. */
function endpointsOf(authorityHost: string): Record<string, string> {
  return {
    token_endpoint: authorityEndpoint(authorityHost, '{tenant}', 'token'),
    authorization_endpoint: authorityEndpoint(authorityHost, '{tenant}', 'authorize'),
    end_session_endpoint: authorityEndpoint(authorityHost, '{tenant}', 'logout'),
    issuer: `${authorityHost}/{tenant}/v2.0`,
    jwks_uri: `${authorityHost}/{tenant}/discovery/v2.0/keys`
  }
}

/**
 * The plugin. Register it after fastify-entra-id, with the API's credential; then, in a handler of an
 * authenticated route, `app.entraIdDownstream.fetch(request, url, { scopes })`.
 *
 * @example
 * ```ts
 * await app.register(fastifyEntraIdDownstream, { credential: { clientSecret: secret } })
 * app.get('/profile', { onRequest: app.entraId.authenticate }, async (request) => {
 *   const response = await app.entraIdDownstream.fetch(request, 'https://graph.microsoft.com/v1.0/me',
 *     { scopes: ['https://graph.microsoft.com/User.Read'] })
 *   return await response.json()
 * })
 * ```
 */
export const fastifyEntraIdDownstream = fp(downstream, { name: 'fastify-entra-id/downstream', fastify: '5.x', dependencies: ['fastify-entra-id'] })
export default fastifyEntraIdDownstream

import fp from 'fastify-plugin'
import type { FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { readBearerToken } from './bearer.js'
import { settle, settleLater } from './hook.js'
import type { EntraHook } from './hook.js'
import { EntraAuthError } from './errors.js'
import type { EntraIdentity } from './identity.js'
import type { EntraIdOptions } from './options.js'
import { EntraTokenVerifier } from './verifier.js'

/** Options of the plugin: the verifier's {@link EntraIdOptions}, plus how the plugin logs. */
export interface EntraIdPluginOptions extends EntraIdOptions {
  /**
   * Bind the verified caller's `tid`, `oid` and `azp` to the request's logger, so every later log line of the
   * request (including Fastify's "request completed") names the caller. Default `true`.
   */
  logCaller?: boolean | undefined
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
    /** fastify-entra-id: the verifier, the `authenticate` hook and readiness. */
    entraId: EntraIdDecorator
  }
}

// Async, though nothing is awaited: a throw from option validation then rejects `register` with the
// EntraConfigError (from a callback-style plugin it would escape as an uncaught exception).
// eslint-disable-next-line @typescript-eslint/require-await
const entraId: FastifyPluginAsync<EntraIdPluginOptions> = async (fastify: FastifyInstance, options) => {
  // Validates options synchronously: a bad configuration fails `register`, never a request.
  const verifier = EntraTokenVerifier.create(options)
  const realm = verifier.options.realm
  const logCaller = options.logCaller ?? true

  // Keys load while the rest of the application starts; `ready()` waits for the first attempt. If it fails,
  // the server starts anyway, protected routes answer 503, and the verifier retries in the background.
  const hydration = verifier.hydrate().then(
    () => { fastify.log.info('entra-id: signing keys loaded') },
    (err: unknown) => {
      fastify.log.warn({ err }, 'entra-id: signing keys could not be loaded; protected routes answer 503 until a background retry succeeds')
    }
  )
  fastify.addHook('onReady', async () => { await hydration })
  fastify.addHook('onClose', (_instance, closed) => { verifier.close(); closed() })

  fastify.decorateRequest('auth', null)

  function accept(request: FastifyRequest, reply: FastifyReply, identity: EntraIdentity): void {
    request.auth = identity
    if (logCaller) {
      const log = request.log.child({ tid: identity.tenantId, oid: identity.objectId, azp: identity.clientAppId })
      request.log = log
      reply.log = log
    }
  }

  function refuse(request: FastifyRequest, error: unknown): void {
    if (error instanceof EntraAuthError) {
      // The code says why; the message is ours and never holds token content, so it is safe in logs too.
      request.log.info({ authError: error.code }, `entra-id: request refused: ${error.message}`)
    }
  }

  function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void>
  function authenticate(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void
  function authenticate(request: FastifyRequest, reply: FastifyReply, done?: HookHandlerDoneFunction): Promise<void> | undefined {
    let token: string
    try {
      token = readBearerToken({ rawHeaders: request.raw.rawHeaders, query: request.query }, realm)
    } catch (error) {
      refuse(request, error)
      return settle(done, error)
    }
    const cached = verifier.cachedIdentity(token)
    if (cached !== undefined) {
      accept(request, reply, cached)
      return settle(done)
    }
    return settleLater(done, verifier.verify(token).then(
      (identity) => { accept(request, reply, identity) },
      (error: unknown) => { refuse(request, error); throw error }
    ))
  }

  fastify.decorate('entraId', {
    verifier,
    realm,
    authenticate,
    isReady: () => verifier.isReady
  } satisfies EntraIdDecorator)
}

/**
 * The Fastify plugin. Register it once; protect routes with `fastify.entraId.authenticate` and the guards.
 *
 * @example
 * ```ts
 * await app.register(fastifyEntraId, { tenantId: '<tenant GUID>', clientId: '<API client ID>' })
 * app.get('/me', { onRequest: app.entraId.authenticate }, async (request) => request.auth)
 * ```
 */
export const fastifyEntraId = fp(entraId, { name: 'fastify-entra-id', fastify: '5.x' })

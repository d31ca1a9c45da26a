import fp from 'fastify-plugin'
import type { FastifyBaseLogger, FastifyInstance, FastifyPluginAsync, FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify'
import { readBearerToken } from '../core/transport/bearer.js'
import { redactUnmatchedUrl } from '../log/index.js'
import { closeIfBodyArriving } from './connection.js'
import { settle, settleLater } from './dual-hook.js'
import type { EntraHook } from './dual-hook.js'
import type { EntraIdDecorator, EntraIdPluginOptions } from './decorator.js'
import { DiscoveryError } from '../core/keys/discovery.js'
import { EntraAuthError } from '../core/errors/auth-error.js'
import { EntraConfigError } from '../util/config-error.js'
import { InsufficientClaimsError } from '../core/errors/claims-challenge.js'
import { MissingTokenError } from '../core/errors/refusals.js'
import { authorityEndpoint } from '../util/entra-urls.js'
import { guestRefusal } from './claim-guards.js'
import { authorizationServerOf, resolveProtectedResources, resourceOf } from '../metadata/protected-resource.js'
import { checkResourcesAreAudiences } from '../metadata/resource-audiences.js'
import { publishProtectedResources } from './resource-metadata-routes.js'
import type { EntraIdentity } from '../core/identity/identity.js'
import { optionalFunction } from '../util/option-checks.js'
import { ANY_TOKEN, described } from '../core/authorization/guard-description.js'
import type { LoadAttempt, LoadSuccess } from '../core/options/entra-id-options.js'
import { EntraTokenVerifier } from '../core/verification/verifier.js'
import { publishRefusal } from '../core/diagnostics/channels.js'
import { startTelemetry } from '../telemetry/index.js'
import { resolveTelemetryOptions } from '../core/options/telemetry-options.js'
import { requestSpanOf } from './request-span.js'
import { certificateBindingCheck } from './client-certificate.js'

// Async: a throw from option validation then rejects `register` with the EntraConfigError (from a callback-style
// plugin it would escape as an uncaught exception), and OpenTelemetry, an optional peer, is imported only if used.
const entraId: FastifyPluginAsync<EntraIdPluginOptions> = async (fastify: FastifyInstance, options) => {
  if (fastify.hasDecorator('entraId')) {
    // Fastify would fail on a decorator later, without saying why: a second registration must sit in a group of its own.
    throw new EntraConfigError('fastifyEntraId', 'is registered already in this context or a parent one: register it once per encapsulated route group (https://github.com/fastify-entra-id/fastify-entra-id/blob/main/docs/how-to/several-registrations.md)')
  }
  const settingName = optionalFunction(options.settingName, 'settingName') ?? ((option: string) => option)
  // The plugin's listeners stand in for the application's, which they call: check those here.
  const onLoadError = optionalFunction(options.onLoadError, 'onLoadError')
  const onLoad = optionalFunction(options.onLoad, 'onLoad')

  // Every attempt to load keys is logged, so an outage or a configuration error keeps being said (at the retry
  // pace: 1 s doubling up to cooldownDuration) for as long as protected routes answer 503.
  function loadFailed(error: Error, attempt: LoadAttempt): void {
    const next = `attempt ${attempt.attempt} failed, next in ${duration(attempt.retryInMs)}`
    const check = error instanceof DiscoveryError ? error.options.map((option) => settingName(option)) : []
    if (check.length > 0) {
      fastify.log.warn({ err: error, ...attempt, check },
        `entra-id: configuration error, check ${check.join(', ')}: ${sentence(error.message)} Protected routes answer 503; ${next}`)
    } else {
      fastify.log.warn({ err: error, ...attempt },
        `entra-id: signing keys could not be loaded: ${sentence(error.message)} Protected routes answer 503; ${next}`)
    }
    onLoadError?.(error, attempt)
  }
  function loaded(success: LoadSuccess): void {
    if (success.attempts === 1) fastify.log.info('entra-id: signing keys loaded')
    else fastify.log.info(success, `entra-id: signing keys loaded after ${success.attempts} attempts; protected routes answer again`)
    onLoad?.(success)
  }

  // Validates options synchronously: a bad configuration fails `register`, never a request.
  const verifier = EntraTokenVerifier.create({ ...options, onLoadError: loadFailed, onLoad: loaded })
  const realm = verifier.options.realm
  const logCaller = options.logCaller ?? true
  const allowGuests = options.allowGuests ?? true
  if (typeof allowGuests !== 'boolean') throw new EntraConfigError('allowGuests', 'must be true or false')
  // `null` unless configured: then requests pay nothing for it.
  const certificateBinding = certificateBindingCheck(options.certificateBinding)
  const resources = resolveProtectedResources(options.protectedResources)
  // A resource Entra cannot issue tokens for (AADSTS9010010) fails here, not at a client's first sign-in.
  checkResourcesAreAudiences(resources, verifier.options.audiences)
  const telemetry = await startTelemetry(resolveTelemetryOptions(options.telemetry))
  const spans = telemetry?.spans ?? null

  // Keys load while the rest of the application starts; `ready()` waits for the first attempt. If it fails,
  // the server starts anyway, protected routes answer 503, and the verifier retries in the background. Both
  // outcomes are logged by the listeners above.
  const hydration = verifier.hydrate().catch(() => undefined)
  // Whether any route may have @fastify/otel's request span: @fastify/otel gives one to the routes added after it,
  // in the context it is registered in (the root, or a group of routes) and below, where requests carry its
  // `opentelemetry` decorator. A route's context says so as the route is added after the plugin (a group of its
  // own); the plugin's context, once all is loaded, covers routes added before it that a hook of the application
  // authenticates. Until one says so, no request is asked for that span: without @fastify/otel it costs nothing.
  let fastifyOtelRoutes = false
  if (spans !== null) {
    fastify.addHook('onRoute', function (this: FastifyInstance) {
      if (this.hasRequestDecorator('opentelemetry')) fastifyOtelRoutes = true
    })
  }
  fastify.addHook('onReady', async () => {
    if (spans !== null && fastify.hasRequestDecorator('opentelemetry')) fastifyOtelRoutes = true
    await hydration
  })
  fastify.addHook('onClose', (_instance, closed) => { verifier.close(); telemetry?.close(); closed() })

  fastify.decorateRequest('auth', null)
  // Fastify's not-found answer and log line echo the URL, token and all: not in this application.
  fastify.addHook('onRequest', redactUnmatchedUrl)

  /** Sets the caller, or returns the refusal of a guest when guests are not allowed. */
  function accept(request: FastifyRequest, reply: FastifyReply, identity: EntraIdentity): EntraAuthError | undefined {
    // Per request, not cached with the token: the certificate is the connection's (RFC 8705 §3).
    const unbound = certificateBinding === null ? undefined : certificateBinding(request, identity)
    if (unbound !== undefined) return refuse(request, reply, unbound) as EntraAuthError
    if (!allowGuests && identity.accountType === 'guest') return refuse(request, reply, guestRefusal()) as EntraAuthError
    request.auth = identity
    if (spans !== null) spans.accepted(identity, fastifyOtelRoutes ? requestSpanOf(request) : undefined)
    if (logCaller) {
      // `caller` names the caller type; an agent's blueprint is logged for audit, as Entra's sign-in logs do.
      const agent = identity.agent
      const bindings = agent === null
        ? { tid: identity.tenantId, oid: identity.objectId, azp: identity.clientAppId, caller: identity.callerType }
        : { tid: identity.tenantId, oid: identity.objectId, azp: identity.clientAppId, caller: identity.callerType, blueprint: agent.blueprintAppId }
      const log = request.log as FastifyBaseLogger & { setBindings?: (bindings: object) => void }
      // Fastify gives each request a child logger of its own (childLoggerFactory), so its bindings can grow in
      // place: pino's setBindings costs a sixth of a grandchild logger (about 1 µs against 7 µs a request).
      if (typeof log.setBindings === 'function' && log !== fastify.log) {
        log.setBindings(bindings)
      } else {
        const child = log.child(bindings)
        request.log = child
        reply.log = child
      }
    }
    return undefined
  }

  /** `authenticate` (`optional` false) or `authenticateOptional` (true): they differ only on missing credentials. */
  function authenticator(optional: boolean): EntraHook {
    function authenticate(request: FastifyRequest, reply: FastifyReply): Promise<void>
    function authenticate(request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void
    function authenticate(request: FastifyRequest, reply: FastifyReply, done?: HookHandlerDoneFunction): Promise<void> | undefined {
      let token: string
      try {
        token = readBearerToken({ rawHeaders: request.raw.rawHeaders, query: request.query })
      } catch (error) {
        if (optional && error instanceof MissingTokenError) return settle(done)
        // Refusals are not logged here: Fastify's error handler logs each one, once, at `info` (with its `code`).
        return settle(done, refuse(request, reply, error))
      }
      // Synchronous unless a fetch is needed (a cached token, or a new one whose key is loaded): such a request
      // gets no promise, microtask or closure.
      let identity: EntraIdentity | Promise<EntraIdentity>
      try {
        identity = verifier.identify(token)
      } catch (error) {
        return settle(done, refuse(request, reply, error))
      }
      if (!(identity instanceof Promise)) return settle(done, accept(request, reply, identity))
      return settleLater(done, identity.then(
        (identity) => {
          const refusal = accept(request, reply, identity)
          if (refusal !== undefined) throw refusal
        },
        (error: unknown) => { throw refuse(request, reply, error) }
      ))
    }
    return described(authenticate, { ...ANY_TOKEN, optional, conditions: allowGuests ? [] : ['no guest accounts'] })
  }

  /** The error to end the request with: the verifier says what is wrong; the challenge is rendered here. */
  function refuse(request: FastifyRequest, reply: FastifyReply, error: unknown): unknown {
    closeIfBodyArriving(request, reply)
    return error instanceof EntraAuthError ? challengeFor(request, error) : error
  }

  function resourceMetadataUrl(request: FastifyRequest): string | undefined {
    return resourceOf(resources, request.url)?.metadataUrl
  }

  // Every refusal of the plugin, the guards' and the application's own, is made here: where it is counted.
  function challengeFor<E extends EntraAuthError>(request: FastifyRequest, error: E): E {
    publishRefusal(error.code, error.statusCode)
    if (spans !== null) spans.refused(error.code, fastifyOtelRoutes ? requestSpanOf(request) : undefined)
    const resource = resourceOf(resources, request.url)
    return error.inRealm(realm).forResource(resource?.metadataUrl, resource?.scopes)
  }

  const { authorityHost, tenantId } = verifier.options
  function claimsChallenge(request: FastifyRequest, claims: string | Readonly<Record<string, unknown>>, description?: string): InsufficientClaimsError {
    return challengeFor(request, new InsufficientClaimsError(claims, description ?? 'This operation needs more claims than the token carries: sign in again with the claims of this challenge', {
      authorizationUri: authorityEndpoint(authorityHost, request.auth?.tenantId ?? tenantId, 'authorize')
    }))
  }

  publishProtectedResources(fastify, resources, authorizationServerOf(verifier))

  fastify.decorate('entraId', {
    verifier,
    realm,
    authenticate: authenticator(false),
    authenticateOptional: authenticator(true),
    claimsChallenge,
    challengeFor,
    resourceMetadataUrl,
    isReady: () => verifier.isReady
  } satisfies EntraIdDecorator)
}

function sentence(text: string): string {
  return /[.!?]$/.test(text) ? text : `${text}.`
}

function duration(ms: number): string {
  return ms >= 1000 ? `${ms / 1000} s` : `${ms} ms`
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

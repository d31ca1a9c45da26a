import { subscribe, unsubscribe } from 'node:diagnostics_channel'
import Fastify from 'fastify'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { fastifyEntraId } from '../src/index.js'
import type { EntraIdPluginOptions } from '../src/index.js'
import { startTestIssuer } from '../src/testing/index.js'
import { CHANNELS } from '../src/core/index.js'
import type { KeySetEvent } from '../src/core/index.js'
import type { TestIssuer, TestIssuerOptions } from '../src/testing/index.js'

// The test kit both suites share; re-exported so that the plugin's tests import their helpers from one place.
export { Signal, bearer, logSink, outcome } from '@fastify-entra-id/test-kit'

/** Options of {@link buildApp}: plugin options on top of the issuer's defaults. */
export type AppOptions = Partial<EntraIdPluginOptions> & { fastify?: FastifyServerOptions }

/**
 * A Fastify app with the plugin pointed at `issuer`, and two routes: `/me` (authenticated, echoes the identity)
 * and `/public`.
 */
export async function buildApp(issuer: TestIssuer, options: AppOptions = {}): Promise<FastifyInstance> {
  const { fastify: fastifyOptions, ...pluginOptions } = options
  const app = Fastify(fastifyOptions ?? {})
  await app.register(fastifyEntraId, {
    tenantId: issuer.tenantId,
    clientId: issuer.clientId,
    authorityHost: issuer.url,
    ...pluginOptions
  })
  app.get('/me', { onRequest: app.entraId.authenticate }, (request) => {
    const auth = request.auth
    if (auth === null) throw new Error('authenticate let an unauthenticated request through')
    return {
      tenantId: auth.tenantId,
      objectId: auth.objectId,
      subject: auth.subject,
      clientAppId: auth.clientAppId,
      username: auth.username,
      name: auth.name,
      scopes: [...auth.scopes],
      roles: [...auth.roles],
      isAppOnly: auth.isAppOnly,
      callerType: auth.callerType,
      tokenVersion: auth.tokenVersion,
      expiresAt: auth.expiresAt.toISOString()
    }
  })
  app.get('/public', () => ({ ok: true }))
  return app
}

/** A Fastify app with the plugin pointed at `issuer` (its tenant, client ID and URL, then `options`), and no routes. */
export async function entraApp(issuer: TestIssuer, options: Partial<EntraIdPluginOptions> = {}): Promise<FastifyInstance> {
  const app = Fastify()
  await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, ...options })
  return app
}

/** Starts an issuer, runs `fn`, and closes the issuer whatever happens. */
export async function withIssuer<T>(fn: (issuer: TestIssuer) => Promise<T>, options: TestIssuerOptions = {}): Promise<T> {
  const issuer = await startTestIssuer(options)
  try {
    return await fn(issuer)
  } finally {
    await issuer.close()
  }
}

/**
 * The next key-set fetch published on the diagnostics channel that `matches`: how a test knows a background
 * refresh finished, without polling for its effects.
 */
export function nextKeySetEvent(matches: (event: KeySetEvent) => boolean = () => true, timeoutMs = 5000): Promise<KeySetEvent> {
  return new Promise<KeySetEvent>((resolve, reject) => {
    const listener = (message: unknown): void => {
      const event = message as KeySetEvent
      if (!matches(event)) return
      done()
      resolve(event)
    }
    const timer = setTimeout(() => {
      done()
      reject(new Error(`no matching key-set event within ${timeoutMs} ms`))
    }, timeoutMs)
    const done = (): void => {
      clearTimeout(timer)
      unsubscribe(CHANNELS.keySet, listener)
    }
    subscribe(CHANNELS.keySet, listener)
  })
}

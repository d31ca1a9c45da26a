import Fastify from 'fastify'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { fastifyEntraId } from '../src/index.js'
import type { EntraIdPluginOptions } from '../src/index.js'
import { startTestIssuer } from '../src/testing/index.js'
import type { TestIssuer, TestIssuerOptions } from '../src/testing/index.js'

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
      tokenVersion: auth.tokenVersion,
      expiresAt: auth.expiresAt.toISOString()
    }
  })
  app.get('/public', () => ({ ok: true }))
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

/** `GET path` with `Authorization: Bearer <token>`. */
export function bearer(token: string): { authorization: string } {
  return { authorization: `Bearer ${token}` }
}

/** The `{ statusCode, code, challenge }` of a response, for one-line assertions. */
export function outcome(response: { statusCode: number, headers: Record<string, unknown>, json: () => unknown }): { status: number, code: unknown, challenge: unknown } {
  const body = response.json() as { code?: unknown }
  return { status: response.statusCode, code: body.code, challenge: response.headers['www-authenticate'] }
}

/** Waits until `predicate` holds, polling every 10 ms, at most `timeoutMs`. For background work, not timing. */
export async function eventually(predicate: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not reached in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

// What the fastify-entra-id servers run: the route protected as the sample API protects it, with the token cache
// on (as shipped) or off, and the plugin's telemetry as shipped or off.
import Fastify from 'fastify'
import fastifyEntraId, { requireScopesOrRoles } from 'fastify-entra-id'
import { ROUTE, TODOS, announce, benchConfig } from './harness.js'

/**
 * Starts the server and announces it; `tokenCache: false` turns the verified-token cache off, `telemetry: false`
 * the plugin's metrics and span attributes (when OpenTelemetry is registered).
 */
export async function serveEntraId(options: { readonly tokenCache?: false, readonly telemetry?: false }): Promise<void> {
  const config = benchConfig()
  const app = Fastify({ logger: false })
  await app.register(fastifyEntraId, { tenantId: config.tenantId, clientId: config.clientId, authorityHost: config.authorityHost, ...options })
  app.get(ROUTE, {
    onRequest: app.entraId.authenticate,
    preHandler: requireScopesOrRoles({ scopes: 'Todo.Read', roles: 'Todo.Read.All' })
  }, () => TODOS)
  await app.listen({ host: '127.0.0.1', port: 0 })
  // The cache's hit and miss counters, read by the orchestrator before and after each measured round (all zero
  // with the cache off: reported anyway, so the report shows it made no lookups at all).
  announce(app.server, () => app.entraId.verifier.tokenCacheStats)
}

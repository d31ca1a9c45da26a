// The subject: the route protected by fastify-entra-id, as the sample API uses it.
import Fastify from 'fastify'
import fastifyEntraId, { requireScopesOrRoles } from 'fastify-entra-id'
import { ROUTE, TODOS, announce, benchConfig } from './harness.js'

const config = benchConfig()
const app = Fastify({ logger: false })
await app.register(fastifyEntraId, { tenantId: config.tenantId, clientId: config.clientId, authorityHost: config.authorityHost })
app.get(ROUTE, {
  onRequest: app.entraId.authenticate,
  preHandler: requireScopesOrRoles({ scopes: 'Todo.Read', roles: 'Todo.Read.All' })
}, () => TODOS)
await app.listen({ host: '127.0.0.1', port: 0 })
// The cache's hit and miss counters, read by the orchestrator before and after each measured round.
announce(app.server, () => app.entraId.verifier.tokenCacheStats)

// The subject with its verified-token cache off: every request pays for a full verification (signature, header,
// claims), which is what the floor target measures; beside the cache-on server it shows what the cache
// saves and what it costs in memory.
import Fastify from 'fastify'
import fastifyEntraId, { requireScopesOrRoles } from 'fastify-entra-id'
import { ROUTE, TODOS, announce, benchConfig } from './harness.js'

const config = benchConfig()
const app = Fastify({ logger: false })
await app.register(fastifyEntraId, { tenantId: config.tenantId, clientId: config.clientId, authorityHost: config.authorityHost, tokenCache: false })
app.get(ROUTE, {
  onRequest: app.entraId.authenticate,
  preHandler: requireScopesOrRoles({ scopes: 'Todo.Read', roles: 'Todo.Read.All' })
}, () => TODOS)
await app.listen({ host: '127.0.0.1', port: 0 })
// With the cache off the counters stay at zero: reported anyway, so the report shows it made no lookups at all.
announce(app.server, () => app.entraId.verifier.tokenCacheStats)

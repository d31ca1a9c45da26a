// Peer: fastify-jwt-jwks (nearform), configured with the tenant's key set, issuer and audience.
import Fastify from 'fastify'
import type { FastifyPluginCallback } from 'fastify'
import jwtJwksModule from 'fastify-jwt-jwks'
import type { FastifyJwtJwksOptions } from 'fastify-jwt-jwks'
import { ROUTE, TODOS, announce, benchConfig, mayReadTodos } from './harness.js'

// A CommonJS package: its module.exports is the fastify-plugin-wrapped plugin (the named export is the bare one,
// which would hide `app.authenticate` in an encapsulated context).
const fastifyJwtJwks = jwtJwksModule as unknown as FastifyPluginCallback<FastifyJwtJwksOptions>
const config = benchConfig()
const app = Fastify({ logger: false })
await app.register(fastifyJwtJwks, { jwksUrl: config.jwksUri, issuer: config.issuer, audience: config.clientId })
app.get(ROUTE, {
  onRequest: app.authenticate,
  preHandler: async (request, reply) => {
    if (!mayReadTodos(request.user)) return reply.code(403).send({ error: 'insufficient_scope' })
  }
}, () => TODOS)
await app.listen({ host: '127.0.0.1', port: 0 })
announce(app.server)

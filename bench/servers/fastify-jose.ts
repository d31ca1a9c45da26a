// Peer: jose's jwtVerify by hand, with one createRemoteJWKSet shared by all requests (jose's recommended use).
import Fastify from 'fastify'
import { createRemoteJWKSet, jwtVerify } from 'jose'
import type { JWTPayload } from 'jose'
import { ROUTE, TODOS, announce, benchConfig, mayReadTodos } from './harness.js'

const config = benchConfig()
const keySet = createRemoteJWKSet(new URL(config.jwksUri))
const app = Fastify({ logger: false })
app.decorateRequest('claims', null)

declare module 'fastify' {
  interface FastifyRequest {
    claims: JWTPayload | null
  }
}

app.get(ROUTE, {
  onRequest: async (request, reply) => {
    const header = request.headers.authorization
    if (header?.startsWith('Bearer ') !== true) return reply.code(401).send({ error: 'invalid_request' })
    try {
      const { payload } = await jwtVerify(header.slice(7), keySet, { issuer: config.issuer, audience: config.clientId, algorithms: ['RS256'] })
      request.claims = payload
    } catch {
      return reply.code(401).send({ error: 'invalid_token' })
    }
  },
  preHandler: async (request, reply) => {
    if (!mayReadTodos(request.claims)) return reply.code(403).send({ error: 'insufficient_scope' })
  }
}, () => TODOS)
await app.listen({ host: '127.0.0.1', port: 0 })
announce(app.server)

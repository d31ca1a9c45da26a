// Peer: @fastify/jwt with get-jwks (OpenID discovery from the token's issuer, as its README shows), with
// @fastify/jwt's verified-token cache on (`cache: true`, 1,000 entries).
import Fastify from 'fastify'
import fastifyJwt from '@fastify/jwt'
import type { TokenOrHeader } from '@fastify/jwt'
import type { FastifyRequest } from 'fastify'
import buildGetJwks from 'get-jwks'
import { ROUTE, TODOS, announce, benchConfig, mayReadTodos } from './harness.js'

const config = benchConfig()
const getJwks = buildGetJwks({ providerDiscovery: true, issuersWhitelist: [config.issuer] })
const app = Fastify({ logger: false })
await app.register(fastifyJwt, {
  decode: { complete: true },
  secret: async (_request: FastifyRequest, token: TokenOrHeader) => {
    const { header, payload } = token as { header: { kid?: string, alg?: string }, payload: { iss?: string } }
    return getJwks.getPublicKey({ kid: header.kid ?? '', alg: header.alg ?? '', domain: payload.iss ?? '' })
  },
  verify: { allowedIss: config.issuer, allowedAud: config.clientId, algorithms: ['RS256'], cache: true }
})
app.get(ROUTE, {
  onRequest: async (request, reply) => {
    try {
      await request.jwtVerify()
    } catch {
      return reply.code(401).send({ error: 'invalid_token' })
    }
  },
  preHandler: async (request, reply) => {
    if (!mayReadTodos(request.user)) return reply.code(403).send({ error: 'insufficient_scope' })
  }
}, () => TODOS)
await app.listen({ host: '127.0.0.1', port: 0 })
announce(app.server)

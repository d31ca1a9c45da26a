import type { FastifyInstance } from 'fastify'
import { requireAuth } from 'fastify-entra-id'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { MeSchema } from '../schemas/me.js'

/** `GET /api/me`: who the caller is, as the verified token says. Absent claims are `null`. */
export default function me(fastify: FastifyInstance, _options: unknown, done: (error?: Error) => void): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  app.get('', {
    onRequest: app.access.anyToken,
    schema: {
      tags: ['identity'],
      summary: 'Who am I',
      response: { 200: MeSchema }
    }
  }, (request) => {
    const identity = requireAuth(request)
    return {
      oid: identity.objectId,
      tid: identity.tenantId,
      sub: identity.subject,
      name: identity.name,
      username: identity.username,
      appId: identity.clientAppId,
      isAppOnly: identity.isAppOnly,
      scopes: [...identity.scopes].sort(),
      roles: [...identity.roles].sort(),
      tokenVersion: identity.tokenVersion,
      accountType: identity.accountType,
      expiresAt: identity.expiresAt.toISOString()
    }
  })
  done()
}

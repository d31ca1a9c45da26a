import type { FastifyInstance } from 'fastify'
import { requireAuth } from 'fastify-entra-id'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { protectedErrors } from '../schemas/errors.js'
import { MeSchema } from '../schemas/me.js'

/** `GET /api/me`: who the caller is, as the verified token says. Absent claims are `null`. */
export default function me(fastify: FastifyInstance, _options: unknown, done: (error?: Error) => void): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const access = app.access.anyToken
  app.get('', {
    onRequest: access.guard,
    schema: {
      tags: ['identity'],
      summary: 'Who am I',
      description: access.description,
      security: access.security,
      response: {
        200: MeSchema,
        ...protectedErrors
      }
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

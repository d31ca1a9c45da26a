import type { FastifyInstance } from 'fastify'
import type { EntraIdentity } from 'fastify-entra-id'
import { Type } from 'typebox'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { protectedErrors } from '../lib/schemas.js'

const Nullable = (schema: ReturnType<typeof Type.String>) => Type.Union([schema, Type.Null()])

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
        200: Type.Object({
          oid: Nullable(Type.String()),
          tid: Type.String(),
          sub: Nullable(Type.String()),
          name: Nullable(Type.String()),
          username: Nullable(Type.String()),
          appId: Nullable(Type.String({ description: 'The calling application (azp or appid)' })),
          isAppOnly: Type.Boolean(),
          scopes: Type.Array(Type.String()),
          roles: Type.Array(Type.String()),
          tokenVersion: Type.Union([Type.Literal(1), Type.Literal(2)]),
          expiresAt: Type.String({ format: 'date-time' })
        }),
        ...protectedErrors
      }
    }
  }, (request) => {
    const identity = request.auth as EntraIdentity
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
      expiresAt: identity.expiresAt.toISOString()
    }
  })
  done()
}

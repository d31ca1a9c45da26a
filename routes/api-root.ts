import type { FastifyInstance } from 'fastify'
import { Type } from 'typebox'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { ErrorSchema } from '../src/schemas/errors.js'

const ApiRoot = Type.Object({
  service: Type.String(),
  docs: Type.String({ description: 'Where the OpenAPI document and Swagger UI are' }),
  caller: Type.Union([
    Type.Object({ oid: Type.Union([Type.String(), Type.Null()]), name: Type.Union([Type.String(), Type.Null()]), isAppOnly: Type.Boolean() }),
    Type.Null()
  ], { description: 'Who the bearer token says the caller is; null without a token' })
})

/**
 * `GET /api`: what the API is and where its documentation is, for anyone; with a bearer token, also who the
 * caller is. Optional authentication: no token is fine, a bad token is refused as anywhere else.
 */
export default function apiRoot(fastify: FastifyInstance, _options: unknown, done: (error?: Error) => void): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  app.get('', {
    onRequest: app.entraId.authenticateOptional,
    schema: {
      tags: ['identity'],
      summary: 'About this API',
      description: 'Open to anyone. With a valid bearer token, `caller` names who it is; a bad token is refused (401).',
      response: { 200: ApiRoot, 400: ErrorSchema, 401: ErrorSchema, 403: ErrorSchema, 503: ErrorSchema }
    }
  }, (request) => {
    const auth = request.auth
    return {
      service: 'todo-api',
      docs: '/docs',
      caller: auth === null ? null : { oid: auth.objectId, name: auth.name, isAppOnly: auth.isAppOnly }
    }
  })
  done()
}

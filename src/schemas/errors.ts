import { Type } from 'typebox'

/** The body of every error answer (Fastify's shape). */
export const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  code: Type.Optional(Type.String()),
  error: Type.String(),
  message: Type.String()
})

/** An error answer with its own description in OpenAPI. */
export function errorResponse(description: string) {
  return Type.Object(ErrorSchema.properties, { description })
}

/**
 * The 400 of a route that validates its input. The 401, 403 and 503 of protected routes (and the 400 of a
 * malformed `Authorization` header elsewhere) are documented by fastify-entra-id/openapi from their guards.
 */
export const invalidRequest = {
  400: errorResponse('The request is invalid: the message names the field at fault (query, parameters, headers or body), ' +
    'or the credentials are malformed (`WWW-Authenticate` with `error="invalid_request"`)')
} as const

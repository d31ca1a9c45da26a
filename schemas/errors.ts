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

/** The error answers every protected route may give. */
export const protectedErrors = {
  400: ErrorSchema,
  401: ErrorSchema,
  403: ErrorSchema,
  503: ErrorSchema
} as const

import { Type } from 'typebox'

/** A todo as the API shows it. */
export const TodoSchema = Type.Object({
  id: Type.String({ format: 'uuid' }),
  title: Type.String(),
  done: Type.Boolean(),
  createdAt: Type.String({ format: 'date-time' }),
  updatedAt: Type.String({ format: 'date-time' }),
  owner: Type.Object({
    tid: Type.String({ description: 'The owner\'s tenant ID' }),
    oid: Type.String({ description: 'The owner\'s object ID' })
  })
}, { additionalProperties: false })

/** A title: 1 to 200 characters, not only white space. */
export const TitleSchema = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S', description: '1 to 200 characters, not only white space' })

/** The body of every error answer (Fastify's shape). */
export const ErrorSchema = Type.Object({
  statusCode: Type.Integer(),
  code: Type.Optional(Type.String()),
  error: Type.String(),
  message: Type.String()
})

/** The error answers every protected route may give. */
export const protectedErrors = {
  400: ErrorSchema,
  401: ErrorSchema,
  403: ErrorSchema,
  503: ErrorSchema
} as const

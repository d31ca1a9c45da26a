import { Type } from 'typebox'
import type { Static } from 'typebox'
import type { Todo } from '../store/store.js'
import { IDEMPOTENCY_KEY_MAX_LENGTH, parseIdempotencyKey } from '../http/idempotency-key.js'
import { ONE_LINE, oneLine } from './one-line.js'

/** Page size when `limit` is not given. */
export const DEFAULT_LIMIT = 20
/** Largest page. */
export const MAX_LIMIT = 100
/** Largest `offset`: deeper pages use the cursor, which costs the same at any depth. */
export const MAX_OFFSET = 10_000

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

/** A title: 1 to 200 characters, not only white space, one line. */
export const TitleSchema = oneLine(Type.String({ minLength: 1, maxLength: 200, pattern: '\\S', description: `1 to 200 characters, not only white space, ${ONE_LINE}` }))

/** A stored todo as the API shows it ({@link TodoSchema}): the REST routes' bodies and the MCP tools' results. */
export function todoView(todo: Todo): Static<typeof TodoSchema> {
  return {
    id: todo.id,
    title: todo.title,
    done: todo.done,
    createdAt: todo.createdAt,
    updatedAt: todo.updatedAt,
    owner: { tid: todo.owner.tenantId, oid: todo.owner.objectId }
  }
}

/** `/api/todos/:id`. */
export const IdParams = Type.Object({ id: Type.String({ format: 'uuid', description: 'The todo\'s ID' }) }, { additionalProperties: false })

/** `GET /api/todos`: one page, by `cursor` or by `offset`. */
export const ListQuery = Type.Object({
  limit: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_LIMIT, default: DEFAULT_LIMIT, description: `Page size, 1 to ${MAX_LIMIT}` })),
  cursor: Type.Optional(Type.String({ minLength: 1, maxLength: 512, pattern: '^[A-Za-z0-9_-]+$', description: 'The `nextCursor` of the previous page' })),
  offset: Type.Optional(Type.Integer({ minimum: 0, maximum: MAX_OFFSET, description: 'Items to skip (instead of `cursor`)' })),
  owner: Type.Optional(Type.String({ format: 'uuid', description: 'Applications only: the object ID (oid) of the owner' }))
}, { additionalProperties: false })

/** The answer of `GET /api/todos`: `nextCursor` is `null` on the last page. */
export const TodoPage = Type.Object({ items: Type.Array(TodoSchema), nextCursor: Type.Union([Type.String(), Type.Null()]) })

// The grammar is parseIdempotencyKey's (src/http/idempotency-key.ts); the schema refuses what it refuses, as a 400.
const IdempotencyKeyHeader = Type.Refine(
  Type.String({
    // Quoted: 2 more, and a backslash before each quote or backslash.
    maxLength: 2 * IDEMPOTENCY_KEY_MAX_LENGTH + 2,
    description: `Makes retries safe (draft-ietf-httpapi-idempotency-key-header): a key the client chose for this todo, 1 to ${String(IDEMPOTENCY_KEY_MAX_LENGTH)} ` +
      'printable ASCII characters, as a quoted string (`"8e03978e-40d5-43e8-bc93-6894a57f9324"`) or bare. A repeat by the same caller with the same key and ' +
      'the same body (same title and done, `done` defaulting to false) creates nothing and gets the first answer again (201, same todo and ' +
      `Location, with \`Idempotent-Replayed: true\`), even if the todo changed since; the same key with another body is a 422; a repeat while the first is ` +
      'in progress is a 409. Keys belong to the caller (tenant and object ID) and are kept 24 hours.'
  }),
  (value) => parseIdempotencyKey(value) !== null,
  () => `must be 1 to ${String(IDEMPOTENCY_KEY_MAX_LENGTH)} printable ASCII characters, quoted ("...") or bare, and one key`
)

/** The headers of `POST /api/todos`: an optional `Idempotency-Key`. */
export const CreateTodoHeaders = Type.Object({ 'idempotency-key': Type.Optional(IdempotencyKeyHeader) })

/** The body of `POST /api/todos`. */
export const CreateTodoBody = Type.Object({
  title: TitleSchema,
  done: Type.Optional(Type.Boolean({ default: false }))
}, { additionalProperties: false })

/** The body of `PATCH /api/todos/:id`: at least one field. */
export const PatchTodoBody = Type.Object({
  title: Type.Optional(TitleSchema),
  done: Type.Optional(Type.Boolean())
}, { additionalProperties: false, minProperties: 1 })

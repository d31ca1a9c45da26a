import type { FastifyInstance } from 'fastify'
import { InsufficientScopeError } from 'fastify-entra-id'
import { callerOf } from '../src/auth/caller.js'
import { todoGuards } from '../src/auth/todo-guards.js'
import { Type } from 'typebox'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { decodeCursor, encodeCursor } from '../src/store/cursor.js'
import { HttpError, todoNotFound } from '../src/http/http-errors.js'
import { parseIdempotencyKey } from '../src/http/idempotency-key.js'
import { ErrorSchema, errorResponse, invalidRequest } from '../src/schemas/errors.js'
import { CreateTodoBody, CreateTodoHeaders, DEFAULT_LIMIT, IdParams, ListQuery, PatchTodoBody, TodoPage, TodoSchema, todoView as view } from '../src/schemas/todos.js'
import type { OwnerFilter } from '../src/store/store.js'

/** Whether a POST was answered from its `Idempotency-Key` rather than by creating a todo. */
export const REPLAYED_HEADER = 'idempotent-replayed'

/**
 * The todo routes, under `/api/todos`. A user sees and changes only their own todos (another user's answer 404, so
 * their existence is not revealed); an application with the "all" app role sees or changes every todo.
 */
export default function todos(fastify: FastifyInstance, _options: unknown, done: (error?: Error) => void): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  const realm = app.entraId.realm
  // On each route rather than with addHook, so the OpenAPI document (built from the routes' hooks) shows them; the
  // MCP tools declare the same lists.
  const guards = todoGuards(app)
  const readers = [...guards.read]
  const writers = [...guards.write]

  app.get('', {
    onRequest: readers,
    schema: {
      tags: ['todos'],
      summary: 'List todos',
      description: 'Users get their own todos; applications get every todo, optionally filtered by `owner`. ' +
        'Oldest first. Pass `nextCursor` back as `cursor` for the next page (or use `offset`).',
      querystring: ListQuery,
      response: {
        200: TodoPage,
        ...invalidRequest
      }
    }
  }, async (request) => {
    const { limit = DEFAULT_LIMIT, cursor, offset, owner } = request.query
    if (cursor !== undefined && offset !== undefined) {
      throw new HttpError(400, 'TODO_BAD_PAGINATION', 'querystring must have either cursor or offset, not both')
    }
    const after = cursor === undefined ? undefined : decodeCursor(cursor)
    if (after === null) throw new HttpError(400, 'TODO_BAD_CURSOR', 'querystring/cursor is not a cursor given by this API')
    const caller = callerOf(request)
    let filter: OwnerFilter
    if (caller.all) {
      filter = owner === undefined ? {} : { objectId: owner.toLowerCase() }
    } else {
      if (owner !== undefined) {
        throw new InsufficientScopeError([app.authSettings.roles.readAll],
          `Only applications with the app role ${app.authSettings.roles.readAll} may list todos by owner`, { realm })
      }
      filter = caller.owner
    }
    const page = await app.store.list({
      filter,
      limit,
      ...(after === undefined ? {} : { cursor: after }),
      ...(offset === undefined ? {} : { offset })
    })
    return { items: page.items.map(view), nextCursor: page.next === null ? null : encodeCursor(page.next) }
  })

  app.post('', {
    onRequest: writers,
    schema: {
      tags: ['todos'],
      summary: 'Create a todo',
      description: 'The todo belongs to the caller. Send an `Idempotency-Key` to retry safely: a request answered 503 ' +
        'may still have been stored if the database failed while confirming it.',
      headers: CreateTodoHeaders,
      body: CreateTodoBody,
      response: {
        201: TodoSchema,
        ...invalidRequest,
        409: errorResponse('A request with the same Idempotency-Key is still in progress (`TODO_IDEMPOTENCY_KEY_IN_USE`); retry after `Retry-After` seconds'),
        422: errorResponse('The Idempotency-Key was already used by this caller for another body (`TODO_IDEMPOTENCY_KEY_REUSED`)')
      }
    }
  }, async (request, reply) => {
    const caller = callerOf(request)
    const header = request.headers['idempotency-key']
    // The schema checked the header; parsing again gives the key without its quotes.
    const key = header === undefined ? null : parseIdempotencyKey(header)
    const { todo, replayed } = await app.store.create(caller.owner, { title: request.body.title, done: request.body.done ?? false },
      key === null ? {} : { idempotencyKey: key })
    if (replayed) void reply.header(REPLAYED_HEADER, 'true')
    return reply.code(201).header('location', `${request.url.replace(/[?#].*$/, '').replace(/\/$/, '')}/${todo.id}`).send(view(todo))
  })

  app.get('/:id', {
    onRequest: readers,
    schema: {
      tags: ['todos'],
      summary: 'Read a todo',
      params: IdParams,
      response: { 200: TodoSchema, 404: ErrorSchema, ...invalidRequest }
    }
  }, async (request) => {
    const todo = await app.store.get(request.params.id.toLowerCase(), callerOf(request).filter)
    if (todo === null) throw todoNotFound()
    return view(todo)
  })

  app.patch('/:id', {
    onRequest: writers,
    schema: {
      tags: ['todos'],
      summary: 'Change a todo',
      params: IdParams,
      body: PatchTodoBody,
      response: { 200: TodoSchema, 404: ErrorSchema, ...invalidRequest }
    }
  }, async (request) => {
    const { title, done } = request.body
    const todo = await app.store.update(request.params.id.toLowerCase(), callerOf(request).filter, {
      ...(title === undefined ? {} : { title }),
      ...(done === undefined ? {} : { done })
    })
    if (todo === null) throw todoNotFound()
    return view(todo)
  })

  app.delete('/:id', {
    onRequest: [...guards.delete],
    schema: {
      tags: ['todos'],
      summary: 'Delete a todo',
      params: IdParams,
      response: { 204: Type.Null({ description: 'Deleted' }), 404: ErrorSchema, ...invalidRequest }
    }
  }, async (request, reply) => {
    const deleted = await app.store.delete(request.params.id.toLowerCase(), callerOf(request).filter)
    if (!deleted) throw todoNotFound()
    return reply.code(204).send(null)
  })
  done()
}

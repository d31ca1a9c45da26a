import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js'
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js'
import type { FastifyBaseLogger } from 'fastify'
import { Value } from 'typebox/value'
import * as z from 'zod'
import type { Caller } from '../auth/caller.js'
import { HttpError } from '../http/http-errors.js'
import { ONE_LINE } from '../schemas/one-line.js'
import { DEFAULT_LIMIT, MAX_LIMIT, TitleSchema, todoView } from '../schemas/todos.js'
import { decodeCursor, encodeCursor } from '../store/cursor.js'
import { StoreError } from '../store/store.js'
import type { OwnerFilter, TodoStore } from '../store/store.js'

/**
 * What each tool needs, as the REST route it mirrors: `read` as `GET /api/todos`, `write` as `POST` and `PATCH`,
 * `delete` as `DELETE /api/todos/:id` (the write permission, and the authentication context when
 * `AUTH_DELETE_AUTH_CONTEXT` is set). The HTTP route checks it before the SDK sees a `tools/call`; the tools are
 * registered from this table's names only, so no tool runs unchecked.
 */
export const TOOL_ACCESS = {
  list_todos: 'read',
  get_todo: 'read',
  create_todo: 'write',
  update_todo: 'write',
  delete_todo: 'delete'
} as const satisfies Record<string, 'read' | 'write' | 'delete'>

/** The name of a todo tool. */
export type ToolName = keyof typeof TOOL_ACCESS

/** `true` when `name` is one of the todo tools. */
export function isToolName(name: string): name is ToolName {
  return Object.hasOwn(TOOL_ACCESS, name)
}

/** What the tools of one request work with. */
export interface TodoToolsContext {
  readonly store: TodoStore
  /** The verified caller (the HTTP route authenticated and authorized the request before the SDK saw it). */
  readonly caller: () => Caller
  /** The permissions' names, for the tools' descriptions and refusals. */
  readonly permissions: { readonly read: string, readonly write: string, readonly readAll: string, readonly writeAll: string }
  readonly log: FastifyBaseLogger
}

/** The name and version the server gives in its `initialize` answer. */
export const SERVER_INFO = { name: 'todo-api', version: '1.0.0' } as const

// The REST routes' rules, as zod schemas (the SDK's input schemas): the title is checked by the very TypeBox schema
// the REST route uses (its length counts code points, as JSON Schema's maxLength does), its JSON Schema keywords
// restated for tools/list.
const Id = z.guid().describe('The todo\'s ID (a UUID)')
const TITLE_RULE = `1 to 200 characters, not only white space, ${ONE_LINE}`
const Title = z.string()
  .refine((value) => Value.Check(TitleSchema, value), { error: `must be ${TITLE_RULE}` })
  .meta({ minLength: 1, maxLength: 200, pattern: '\\S', description: `The title: ${TITLE_RULE}` })
const TodoOutput = z.object({
  id: z.string(),
  title: z.string(),
  done: z.boolean(),
  createdAt: z.string().describe('ISO 8601, UTC'),
  updatedAt: z.string().describe('ISO 8601, UTC'),
  owner: z.object({ tid: z.string().describe('The owner\'s tenant ID'), oid: z.string().describe('The owner\'s object ID') })
})

/**
 * A new MCP server with the todo tools, for one request (the stateless Streamable HTTP pattern: nothing outlives
 * the request, so any instance of the service answers any request). The tools follow the REST routes' rules
 * (routes/todos.ts): a user sees and changes only their own todos, another user's todo is "not found"; an
 * application with the "all" app role reaches every todo.
 *
 * A refusal the caller can act on (not found, a bad cursor, the store unavailable) is a tool error
 * (`isError: true`) whose text ends with its code in parentheses and whose `_meta.code` is that code, so that a
 * model reads it and a program matches the code. An unexpected error is logged and reported without its message.
 */
export function createTodoMcpServer(context: TodoToolsContext): McpServer {
  const { store, caller, permissions: p, log } = context
  const server = new McpServer(SERVER_INFO, {
    instructions: 'Todos of the signed-in user (an application with the app role sees every user\'s todos). ' +
      'Titles are one line of 1 to 200 characters. IDs are UUIDs from list_todos or create_todo.'
  })

  /** Runs a tool's work, turning the refusals callers act on into tool errors. */
  async function run(work: () => Promise<Record<string, unknown>>): Promise<CallToolResult> {
    try {
      const value = await work()
      return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value }
    } catch (error) {
      if (error instanceof HttpError || error instanceof StoreError) return toolError(error.code, error.message)
      log.error({ err: error }, 'unexpected error in an MCP tool')
      return toolError('INTERNAL_ERROR', 'The tool failed unexpectedly')
    }
  }

  server.registerTool('list_todos', {
    title: 'List todos',
    description: `Lists todos, oldest first, one page at a time (needs ${p.read}; applications ${p.readAll}). Users get their own; ` +
      'applications get everyone\'s, optionally of one owner. Pass nextCursor back as cursor for the next page.',
    inputSchema: {
      limit: z.number().int().min(1).max(MAX_LIMIT).optional().describe(`Page size, 1 to ${String(MAX_LIMIT)}; default ${String(DEFAULT_LIMIT)}`),
      cursor: z.string().min(1).max(512).regex(/^[A-Za-z0-9_-]+$/).optional().describe('The nextCursor of the previous page'),
      owner: z.guid().optional().describe(`Applications only (app role ${p.readAll}): the object ID (oid) of the owner`)
    },
    outputSchema: { items: z.array(TodoOutput), nextCursor: z.string().nullable() },
    annotations: { readOnlyHint: true, openWorldHint: false }
  }, ({ limit, cursor, owner }) => run(async () => {
    const who = caller()
    const after = cursor === undefined ? undefined : decodeCursor(cursor)
    if (after === null) throw new HttpError(400, 'TODO_BAD_CURSOR', 'cursor is not a cursor given by this server')
    let filter: OwnerFilter
    if (who.all) filter = owner === undefined ? {} : { objectId: owner.toLowerCase() }
    else if (owner !== undefined) throw new HttpError(403, 'TODO_OWNER_FILTER_FOR_APPS', `Only applications with the app role ${p.readAll} may list todos by owner`)
    else filter = who.owner
    const page = await store.list({ filter, limit: limit ?? DEFAULT_LIMIT, ...(after === undefined ? {} : { cursor: after }) })
    return { items: page.items.map(todoView), nextCursor: page.next === null ? null : encodeCursor(page.next) }
  }))

  server.registerTool('get_todo', {
    title: 'Read a todo',
    description: `Reads one todo by its ID (needs ${p.read}; applications ${p.readAll}).`,
    inputSchema: { id: Id },
    outputSchema: TodoOutput.shape,
    annotations: { readOnlyHint: true, openWorldHint: false }
  }, ({ id }) => run(async () => {
    const todo = await store.get(id.toLowerCase(), caller().filter)
    if (todo === null) throw notFound()
    return todoView(todo)
  }))

  server.registerTool('create_todo', {
    title: 'Create a todo',
    description: `Creates a todo owned by the caller (needs ${p.write}; applications ${p.writeAll}).`,
    inputSchema: { title: Title, done: z.boolean().optional().describe('Default false') },
    outputSchema: TodoOutput.shape,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false }
  }, ({ title, done }) => run(async () => {
    const { todo } = await store.create(caller().owner, { title, done: done ?? false })
    return todoView(todo)
  }))

  server.registerTool('update_todo', {
    title: 'Change a todo',
    description: `Changes a todo's title, its done flag, or both (needs ${p.write}; applications ${p.writeAll}).`,
    inputSchema: { id: Id, title: Title.optional(), done: z.boolean().optional() },
    outputSchema: TodoOutput.shape,
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false }
  }, ({ id, title, done }) => run(async () => {
    if (title === undefined && done === undefined) throw new HttpError(400, 'TODO_NOTHING_TO_CHANGE', 'Give title, done or both')
    const todo = await store.update(id.toLowerCase(), caller().filter, {
      ...(title === undefined ? {} : { title }),
      ...(done === undefined ? {} : { done })
    })
    if (todo === null) throw notFound()
    return todoView(todo)
  }))

  server.registerTool('delete_todo', {
    title: 'Delete a todo',
    description: `Deletes a todo (needs ${p.write}; applications ${p.writeAll}).`,
    inputSchema: { id: Id },
    outputSchema: { id: z.string(), deleted: z.literal(true) },
    annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false }
  }, ({ id }) => run(async () => {
    const deleted = await store.delete(id.toLowerCase(), caller().filter)
    if (!deleted) throw notFound()
    return { id: id.toLowerCase(), deleted: true as const }
  }))

  return server
}

/** Not found, as the REST routes say it: another user's todo is not revealed. */
function notFound(): HttpError {
  return new HttpError(404, 'TODO_NOT_FOUND', 'Todo not found')
}

function toolError(code: string, message: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: `${message} (${code})` }], _meta: { code } }
}

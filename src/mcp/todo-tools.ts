import { McpServer } from '@modelcontextprotocol/server'
import type { CallToolResult } from '@modelcontextprotocol/server'
import type { FastifyBaseLogger } from 'fastify'
import type { EntraHook } from 'fastify-entra-id'
import { Value } from 'typebox/value'
import * as z from 'zod'
import type { Caller } from '../auth/caller.js'
import type { TodoGuards } from '../auth/todo-guards.js'
import { HttpError } from '../http/http-errors.js'
import { ONE_LINE } from '../schemas/one-line.js'
import { DEFAULT_LIMIT, MAX_LIMIT, TitleSchema, todoView } from '../schemas/todos.js'
import { decodeCursor, encodeCursor } from '../store/cursor.js'
import { StoreError } from '../store/store.js'
import type { OwnerFilter, TodoStore } from '../store/store.js'
import { AUTHORIZATION_META_KEY } from './tool-authorization.js'
import type { ToolAuthorization } from './tool-authorization.js'

/**
 * One todo tool: what the SDK lists and calls, and the guards it is declared with. The guards are the REST
 * route's own ({@link TodoGuards}): the MCP route runs them before the SDK sees a `tools/call` of the tool, and
 * `tools/list` shows what they require in the tool's `_meta`. A tool cannot be defined without them.
 */
export interface TodoTool {
  readonly name: string
  /** The route's guards, every one of which must let the caller through before the tool runs. */
  readonly guards: readonly EntraHook[]
  readonly title: string
  readonly description: string
  readonly inputSchema: z.ZodObject
  readonly outputSchema: z.ZodObject
  readonly annotations: { readonly readOnlyHint: boolean, readonly destructiveHint?: boolean, readonly idempotentHint?: boolean, readonly openWorldHint: boolean }
  /** The tool's work for `caller`, on arguments the SDK checked against `inputSchema`. */
  readonly work: (args: unknown, caller: Caller) => Promise<Record<string, unknown>>
}

/** A tool whose work is typed by its input schema, stored as a {@link TodoTool}. */
function defineTool<S extends z.ZodObject>(tool: Omit<TodoTool, 'inputSchema' | 'work'> & {
  readonly inputSchema: S
  readonly work: (args: z.output<S>, caller: Caller) => Promise<Record<string, unknown>>
}): TodoTool {
  // The SDK parsed the arguments with this very schema before calling the tool.
  return { ...tool, work: (args, caller) => tool.work(args as z.output<S>, caller) }
}

/** What the tools work with. */
export interface TodoToolsOptions {
  readonly store: TodoStore
  /** The guards of each kind of operation: the REST routes' (src/auth/todo-guards.ts). */
  readonly guards: TodoGuards
  /** The permissions' names, for the tools' descriptions and refusals. */
  readonly permissions: { readonly read: string, readonly write: string, readonly readAll: string, readonly writeAll: string }
}

/** The name and version the server gives in `server/discover`, each result's `_meta` and `initialize`. */
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
 * The five todo tools, in the order `tools/list` gives them (the specification asks for a deterministic order).
 * They follow the REST routes' rules (routes/todos.ts): a user sees and changes only their own todos, another user's
 * todo is "not found"; an application with the "all" app role reaches every todo.
 */
export function todoTools(options: TodoToolsOptions): readonly TodoTool[] {
  const { store, guards, permissions: p } = options
  return Object.freeze([
    defineTool({
      name: 'list_todos',
      guards: guards.read,
      title: 'List todos',
      description: `Lists todos, oldest first, one page at a time (needs ${p.read}; applications ${p.readAll}). Users get their own; ` +
        'applications get everyone\'s, optionally of one owner. Pass nextCursor back as cursor for the next page.',
      inputSchema: z.object({
        limit: z.number().int().min(1).max(MAX_LIMIT).optional().describe(`Page size, 1 to ${String(MAX_LIMIT)}; default ${String(DEFAULT_LIMIT)}`),
        cursor: z.string().min(1).max(512).regex(/^[A-Za-z0-9_-]+$/).optional().describe('The nextCursor of the previous page'),
        owner: z.guid().optional().describe(`Applications only (app role ${p.readAll}): the object ID (oid) of the owner`)
      }),
      outputSchema: z.object({ items: z.array(TodoOutput), nextCursor: z.string().nullable() }),
      annotations: { readOnlyHint: true, openWorldHint: false },
      work: async ({ limit, cursor, owner }, who) => {
        const after = cursor === undefined ? undefined : decodeCursor(cursor)
        if (after === null) throw new HttpError(400, 'TODO_BAD_CURSOR', 'cursor is not a cursor given by this server')
        let filter: OwnerFilter
        if (who.all) filter = owner === undefined ? {} : { objectId: owner.toLowerCase() }
        else if (owner !== undefined) throw new HttpError(403, 'TODO_OWNER_FILTER_FOR_APPS', `Only applications with the app role ${p.readAll} may list todos by owner`)
        else filter = who.owner
        const page = await store.list({ filter, limit: limit ?? DEFAULT_LIMIT, ...(after === undefined ? {} : { cursor: after }) })
        return { items: page.items.map(todoView), nextCursor: page.next === null ? null : encodeCursor(page.next) }
      }
    }),
    defineTool({
      name: 'get_todo',
      guards: guards.read,
      title: 'Read a todo',
      description: `Reads one todo by its ID (needs ${p.read}; applications ${p.readAll}).`,
      inputSchema: z.object({ id: Id }),
      outputSchema: TodoOutput,
      annotations: { readOnlyHint: true, openWorldHint: false },
      work: async ({ id }, who) => {
        const todo = await store.get(id.toLowerCase(), who.filter)
        if (todo === null) throw notFound()
        return todoView(todo)
      }
    }),
    defineTool({
      name: 'create_todo',
      guards: guards.write,
      title: 'Create a todo',
      description: `Creates a todo owned by the caller (needs ${p.write}; applications ${p.writeAll}).`,
      inputSchema: z.object({ title: Title, done: z.boolean().optional().describe('Default false') }),
      outputSchema: TodoOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
      work: async ({ title, done }, who) => todoView((await store.create(who.owner, { title, done: done ?? false })).todo)
    }),
    defineTool({
      name: 'update_todo',
      guards: guards.write,
      title: 'Change a todo',
      description: `Changes a todo's title, its done flag, or both (needs ${p.write}; applications ${p.writeAll}).`,
      inputSchema: z.object({ id: Id, title: Title.optional(), done: z.boolean().optional() }),
      outputSchema: TodoOutput,
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      work: async ({ id, title, done }, who) => {
        if (title === undefined && done === undefined) throw new HttpError(400, 'TODO_NOTHING_TO_CHANGE', 'Give title, done or both')
        const todo = await store.update(id.toLowerCase(), who.filter, {
          ...(title === undefined ? {} : { title }),
          ...(done === undefined ? {} : { done })
        })
        if (todo === null) throw notFound()
        return todoView(todo)
      }
    }),
    defineTool({
      name: 'delete_todo',
      guards: guards.delete,
      title: 'Delete a todo',
      description: `Deletes a todo (needs ${p.write}; applications ${p.writeAll}).`,
      inputSchema: z.object({ id: Id }),
      outputSchema: z.object({ id: z.string(), deleted: z.literal(true) }),
      annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
      work: async ({ id }, who) => {
        const deleted = await store.delete(id.toLowerCase(), who.filter)
        if (!deleted) throw notFound()
        return { id: id.toLowerCase(), deleted: true as const }
      }
    })
  ])
}

/** What one request's server works with. */
export interface TodoServerOptions {
  readonly tools: readonly TodoTool[]
  /** What each tool requires, as `tools/list` shows it (see src/mcp/tool-authorization.ts). */
  readonly authorizationOf: (tool: TodoTool) => ToolAuthorization
  /** The verified caller (the route authenticated the request and ran the tool's guards before the SDK saw it). */
  readonly caller: () => Caller
  readonly log: FastifyBaseLogger
}

/**
 * A new MCP server with the todo tools, for one request (nothing outlives the request, so any instance of the
 * service answers any request, which revision 2026-07-28 makes the protocol's own model).
 *
 * A refusal the caller can act on (not found, a bad cursor, the store unavailable) is a tool error
 * (`isError: true`) whose text ends with its code in parentheses and whose `_meta.code` is that code, so that a
 * model reads it and a program matches the code. An unexpected error is logged and reported without its message.
 */
export function createTodoMcpServer(options: TodoServerOptions): McpServer {
  const { tools, authorizationOf, caller, log } = options
  const server = new McpServer(SERVER_INFO, {
    instructions: 'Todos of the signed-in user (an application with the app role sees every user\'s todos). ' +
      'Titles are one line of 1 to 200 characters. IDs are UUIDs from list_todos or create_todo.',
    // The list is the same for every caller and changes only with a deployment: clients may keep it 5 minutes.
    // Private: it names the configured groups and authentication context, which only a verified caller may read,
    // so no shared cache may serve it to another.
    cacheHints: { 'tools/list': { ttlMs: 300_000, cacheScope: 'private' } },
    // The tools never change while the service runs: no list-changed notifications to subscribe to.
    capabilities: { tools: { listChanged: false } },
    // Arguments are a few fields: refuse a payload built to make validation expensive.
    maxToolInputElements: 64
  })

  for (const tool of tools) {
    server.registerTool(tool.name, {
      title: tool.title,
      description: tool.description,
      inputSchema: tool.inputSchema,
      outputSchema: tool.outputSchema,
      annotations: tool.annotations,
      _meta: { [AUTHORIZATION_META_KEY]: authorizationOf(tool) }
    }, async (args: unknown) => {
      try {
        const value = await tool.work(args, caller())
        return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value }
      } catch (error) {
        if (error instanceof HttpError || error instanceof StoreError) return toolError(error.code, error.message)
        log.error({ err: error }, 'unexpected error in an MCP tool')
        return toolError('INTERNAL_ERROR', 'The tool failed unexpectedly')
      }
    })
  }
  return server
}

/** Not found, as the REST routes say it: another user's todo is not revealed. */
function notFound(): HttpError {
  return new HttpError(404, 'TODO_NOT_FOUND', 'Todo not found')
}

function toolError(code: string, message: string): CallToolResult {
  return { isError: true, content: [{ type: 'text', text: `${message} (${code})` }], _meta: { code } }
}

import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { requireAuthContext, requireGroups } from 'fastify-entra-id'
import type { EntraHook } from 'fastify-entra-id'
import { callerOf } from '../src/auth/caller.js'
import { ConfigError } from '../src/config/config-error.js'
import { HttpError } from '../src/http/http-errors.js'
import { allowedOrigins, loopbackOrigins, originAllowed } from '../src/mcp/origin.js'
import { TOOL_ACCESS, createTodoMcpServer, isToolName } from '../src/mcp/todo-tools.js'
import type { ToolName } from '../src/mcp/todo-tools.js'
import { list } from '../plugins/config.js'

/** JSON-RPC's "invalid params", which the MCP specification names for a call of an unknown tool. */
const INVALID_PARAMS = -32602

/**
 * The MCP server, under `/mcp`: the todo tools over the Streamable HTTP transport (MCP 2025-11-25), stateless
 * (no sessions: a new SDK server and transport per request, answered as JSON).
 *
 * Each request is checked here before the SDK sees it, in this order:
 * 1. `Origin` (against DNS rebinding): a browser page not in `MCP_ALLOWED_ORIGINS` gets 403
 *    `MCP_ORIGIN_NOT_ALLOWED`, before authentication; requests without `Origin` pass.
 * 2. Authentication (`onRequest`): any valid access token for the API; none is a 401 with the Bearer challenge.
 * 3. For `tools/call`, once the body is parsed (`preHandler`): the tool's permission, with the REST route's own
 *    guards, so a token without it gets the 403 `insufficient_scope` challenge naming the scope: the MCP
 *    authorization spec's step-up, which clients act on by asking for that scope. A JSON-RPC batch is refused
 *    (400), never partly checked.
 *
 * `GET` (an SSE stream for server messages) and `DELETE` (ending a session) are answered 405, as the transport
 * allows a server without streams or sessions to.
 */
export default function mcp(app: FastifyInstance, _options: unknown, done: (error?: Error) => void): void {
  const c = app.config
  let configured: ReadonlySet<string>
  try {
    configured = allowedOrigins(c.MCP_ALLOWED_ORIGINS === undefined ? [] : list(c.MCP_ALLOWED_ORIGINS))
  } catch (error) {
    // The schema checked the shape; a value URL parsing still refuses (`http://[::1`) is named like any other.
    done(new ConfigError([`MCP_ALLOWED_ORIGINS must be a comma-separated list of origins: ${(error as Error).message}`]))
    return
  }
  const development = app.authSettings.devIssuer !== null
  // In development mode, the server's own pages: known once it listens (PORT may be 0), read from the socket,
  // never from the Host header (which a rebinding page controls).
  let allowed: ReadonlySet<string> | undefined
  function allowList(): ReadonlySet<string> {
    if (allowed !== undefined) return allowed
    const address = app.server.address()
    if (!development || address === null || typeof address === 'string') return configured
    allowed = new Set([...configured, ...loopbackOrigins(address.port)])
    return allowed
  }

  app.addHook('onRequest', (request: FastifyRequest, _reply: FastifyReply, next: (error?: Error) => void) => {
    if (originAllowed(request.headers.origin, allowList())) { next(); return }
    // The allow-list is not named: nothing about the configuration to a caller not yet authenticated.
    next(new HttpError(403, 'MCP_ORIGIN_NOT_ALLOWED', 'Requests from this Origin may not use the MCP endpoint'))
  })

  // The guards of each kind of tool: the REST routes' (routes/todos.ts), so a tool and its route agree.
  const groups = c.AUTH_REQUIRED_GROUPS === undefined ? [] : [requireGroups({ anyOf: list(c.AUTH_REQUIRED_GROUPS) }, { appOnly: 'allow' })]
  const { read, write } = app.access
  const guards: Readonly<Record<typeof TOOL_ACCESS[ToolName], readonly EntraHook[]>> = {
    read: [read, ...groups],
    write: [write, ...groups],
    delete: [write, ...groups, ...(c.AUTH_DELETE_AUTH_CONTEXT === undefined ? [] : [requireAuthContext(c.AUTH_DELETE_AUTH_CONTEXT, { appOnly: 'allow' })])]
  }

  async function authorizeToolCall(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const message = request.body
    if (Array.isArray(message)) {
      // Batches left JSON-RPC over MCP in 2025-06-18; checking each call of one would let a single refusal
      // decide the fate of the others. Refused whole.
      throw new HttpError(400, 'MCP_BATCH_NOT_SUPPORTED', 'Send one JSON-RPC message per request: batches are not supported')
    }
    const call = toolCallOf(message)
    // Other messages (initialize, tools/list, notifications) need only the token: the SDK checks their shape.
    if (call === null) return
    if (!isToolName(call.name)) {
      // Only the table's tools reach the SDK: a tool registered without a permission could never run unchecked.
      return reply.send({ jsonrpc: '2.0', id: call.id, error: { code: INVALID_PARAMS, message: `Unknown tool: ${call.name.slice(0, 64)}` } })
    }
    for (const guard of guards[TOOL_ACCESS[call.name]]) await guard(request, reply)
    // A token without oid is refused as on the REST routes (403 TODO_NO_OWNER), before any tool runs.
    callerOf(request)
  }

  app.post('', {
    onRequest: app.entraId.authenticate,
    preHandler: authorizeToolCall,
    // Not in the OpenAPI document: one JSON-RPC endpoint, described by tools/list, not by paths.
    schema: { hide: true }
  }, async (request, reply) => {
    const server = createTodoMcpServer({
      store: app.store,
      caller: () => callerOf(request),
      permissions: { read: c.AUTH_SCOPE_READ, write: c.AUTH_SCOPE_WRITE, readAll: c.AUTH_ROLE_READ_ALL, writeAll: c.AUTH_ROLE_WRITE_ALL },
      log: request.log
    })
    // Stateless: no sessionIdGenerator, so no session. JSON answers, not an SSE stream: the tools answer at once and
    // send no progress or server requests.
    const transport = new StreamableHTTPServerTransport({ enableJsonResponse: true })
    reply.raw.on('close', () => {
      void transport.close()
      void server.close()
    })
    await server.connect(transport)
    // The connections plugin's onSend hook does not run for a hijacked reply: during shutdown, close here too.
    if (app.shutdown.begun) reply.raw.setHeader('connection', 'close')
    reply.hijack()
    try {
      await transport.handleRequest(request.raw, reply.raw, request.body)
    } catch (error) {
      request.log.error({ err: error }, 'unexpected error in the MCP transport')
      if (reply.raw.headersSent) reply.raw.destroy()
      else reply.raw.writeHead(500, { 'content-type': 'application/json; charset=utf-8' }).end(JSON.stringify({ statusCode: 500, error: 'Internal Server Error', message: 'Internal Server Error' }))
    }
  })

  // No SSE stream to open, no session to end: 405 (the transport's answer for a server without them).
  for (const method of ['GET', 'DELETE'] as const) {
    app.route({
      method,
      url: '',
      onRequest: app.entraId.authenticate,
      schema: { hide: true },
      handler: async (_request, reply) => reply.code(405).header('allow', 'POST').send({
        statusCode: 405,
        code: 'MCP_METHOD_NOT_ALLOWED',
        error: 'Method Not Allowed',
        message: 'This MCP server is stateless: it offers no SSE stream (GET) and no session to end (DELETE); POST JSON-RPC messages'
      })
    })
  }
  done()
}

/** The request's tool call: its `id` and tool name, or `null` when it is not a `tools/call` the SDK would run. */
function toolCallOf(message: unknown): { id: string | number | null, name: string } | null {
  if (typeof message !== 'object' || message === null) return null
  const { method, params, id } = message as { method?: unknown, params?: unknown, id?: unknown }
  if (method !== 'tools/call') return null
  const name = typeof params === 'object' && params !== null ? (params as { name?: unknown }).name : undefined
  // Without a string name, the SDK refuses the message (invalid params) and runs no tool.
  if (typeof name !== 'string') return null
  return { id: typeof id === 'string' || typeof id === 'number' ? id : null, name }
}

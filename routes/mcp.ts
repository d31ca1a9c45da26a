import { toNodeHandler } from '@modelcontextprotocol/node'
import { createMcpHandler } from '@modelcontextprotocol/server'
import type { AuthInfo } from '@modelcontextprotocol/server'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { identityOf } from 'fastify-entra-id'
import { bearerTokenFromHeader } from 'fastify-entra-id/transport'
import { callerOf } from '../src/auth/caller.js'
import { todoGuards } from '../src/auth/todo-guards.js'
import { ConfigError } from '../src/config/config-error.js'
import { HttpError } from '../src/http/http-errors.js'
import { allowedOrigins, loopbackOrigins, originAllowed } from '../src/mcp/origin.js'
import { boundToResource } from '../src/mcp/resource-binding.js'
import { authorizeTool, toolAuthorization } from '../src/mcp/tool-authorization.js'
import type { ToolAuthorization } from '../src/mcp/tool-authorization.js'
import { createTodoMcpServer, todoTools } from '../src/mcp/todo-tools.js'
import type { TodoTool } from '../src/mcp/todo-tools.js'
import { list } from '../plugins/config.js'

// Where the request a server instance serves travels from the route to the SDK's factory: the verified AuthInfo,
// which the SDK passes through untouched.
const REQUEST = 'fastifyRequest'

/**
 * The MCP server, under `/mcp`: the todo tools over Streamable HTTP, at MCP revision 2026-07-28 (each request
 * carries its protocol version and capabilities, no sessions, `server/discover`) through the SDK's
 * `createMcpHandler`, which also serves 2025-era clients (`initialize`, then requests) statelessly.
 *
 * Each request is checked here before the SDK sees it, in this order:
 * 1. `Origin` (against DNS rebinding): a browser page not in `MCP_ALLOWED_ORIGINS` gets 403
 *    `MCP_ORIGIN_NOT_ALLOWED`, before authentication; requests without `Origin` pass.
 * 2. Authentication (`onRequest`): a valid access token for the API, not one for the REST API's resource; none is
 *    a 401 whose challenge names the RFC 9728 metadata.
 * 3. For `tools/call`, once the body is parsed (`preHandler`): every guard the tool is declared with (the REST
 *    route's own), so a token without the permission gets one 403 `insufficient_scope` challenge naming every
 *    scope the call needs: the authorization specification's step-up. A JSON-RPC batch is refused (400).
 *
 * The SDK then checks the transport's rules (the `MCP-Protocol-Version`, `Mcp-Method` and `Mcp-Name` headers
 * against the body, the protocol version, the content type) and runs the request on a new server instance.
 * `GET` and `DELETE` are answered 405: the revision has no stream to open and no session to end.
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

  function checkOrigin(request: FastifyRequest, _reply: FastifyReply, next: (error?: Error) => void): void {
    if (originAllowed(request.headers.origin, allowList())) { next(); return }
    // The allow-list is not named: nothing about the configuration to a caller not yet authenticated.
    next(new HttpError(403, 'MCP_ORIGIN_NOT_ALLOWED', 'Requests from this Origin may not use the MCP endpoint'))
  }

  const resources = app.authSettings.resources
  const authenticate = [checkOrigin, app.entraId.authenticate, boundToResource(resources === null ? [] : [resources.api.resource])]

  // The tools, each declared with the REST route's guards; tools/list shows what they require, with the scopes
  // written as a client requests them under this resource (as the 403 challenge names them).
  const tools = todoTools({
    store: app.store,
    guards: todoGuards(app),
    permissions: { read: c.AUTH_SCOPE_READ, write: c.AUTH_SCOPE_WRITE, readAll: c.AUTH_ROLE_READ_ALL, writeAll: c.AUTH_ROLE_WRITE_ALL }
  })
  const byName = new Map(tools.map((tool) => [tool.name, tool]))
  const scopes = resources?.mcp.scopes ?? []
  const qualify = (scope: string): string => scopes.find((s) => s.endsWith(`/${scope}`)) ?? scope
  const authorizations = new Map<TodoTool, ToolAuthorization>(tools.map((tool) => [tool, toolAuthorization(tool.guards, qualify)]))

  async function authorizeToolCall(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    const message = request.body
    if (Array.isArray(message)) {
      // JSON-RPC batches left MCP in 2025-06-18; checking each call of one would let a single refusal decide the
      // fate of the others. Refused whole.
      throw new HttpError(400, 'MCP_BATCH_NOT_SUPPORTED', 'Send one JSON-RPC message per request: batches are not supported')
    }
    const name = toolNameOf(message)
    // Other messages (server/discover, tools/list, initialize) need only the token: the SDK checks their shape. A
    // name no tool has reaches the SDK, which answers it unknown: it registered only these tools.
    const tool = name === null ? undefined : byName.get(name)
    if (tool === undefined) return
    await authorizeTool(request, reply, tool.guards)
    // A token without oid is refused as on the REST routes (403 TODO_NO_OWNER), before any tool runs.
    callerOf(request)
  }

  const handler = createMcpHandler((context) => {
    const request = context.authInfo?.extra?.[REQUEST] as FastifyRequest | undefined
    // The route passes the request with every call; a server without one would have no caller.
    if (request === undefined) throw new Error('the MCP handler was called without the verified request')
    return createTodoMcpServer({
      tools,
      authorizationOf: (tool) => authorizations.get(tool) ?? toolAuthorization(tool.guards, qualify),
      caller: () => callerOf(request),
      log: request.log
    })
  }, {
    // The SDK reports the requests it refuses (a header that does not match the body, an unsupported version)
    // here; the client gets the answer, the log a line at debug.
    onerror: (error) => { app.log.debug({ err: error }, 'MCP request refused by the SDK') }
  })
  const serve = toNodeHandler(handler, { onerror: (error) => { app.log.error({ err: error }, 'unexpected error in the MCP transport') } })
  app.addHook('onClose', async () => { await handler.close() })

  app.post('', {
    onRequest: authenticate,
    preHandler: authorizeToolCall,
    // Not in the OpenAPI document: one JSON-RPC endpoint, described by tools/list, not by paths.
    schema: { hide: true }
  }, async (request, reply) => {
    const identity = identityOf(request)
    const authInfo: AuthInfo = {
      token: bearerTokenFromHeader(request.headers.authorization),
      clientId: identity.clientAppId ?? '',
      scopes: [...identity.scopes],
      expiresAt: identity.claims.exp,
      ...(resources === null ? {} : { resource: new URL(resources.mcp.resource) }),
      extra: { [REQUEST]: request }
    }
    // The connections plugin's onSend hook does not run for a hijacked reply: during shutdown, close here too.
    if (app.shutdown.begun) reply.raw.setHeader('connection', 'close')
    reply.hijack()
    // toNodeHandler passes `req.auth` to the handler as its pass-through authInfo, and the body Fastify parsed (the
    // stream is not read again).
    const raw = request.raw
    await serve({ method: 'POST', url: raw.url ?? '/mcp', headers: raw.headers, auth: authInfo, [Symbol.asyncIterator]: () => raw[Symbol.asyncIterator]() },
      reply.raw, request.body)
  })

  // No stream to open, no session to end: 405 (what the transport asks of a server without them), after the same
  // checks as a POST, so that nothing is said to a caller without a token.
  for (const method of ['GET', 'DELETE'] as const) {
    app.route({
      method,
      url: '',
      onRequest: authenticate,
      schema: { hide: true },
      handler: async (_request, reply) => reply.code(405).header('allow', 'POST').send({
        statusCode: 405,
        code: 'MCP_METHOD_NOT_ALLOWED',
        error: 'Method Not Allowed',
        message: 'This MCP server is stateless: it offers no stream (GET) and no session to end (DELETE); POST JSON-RPC messages'
      })
    })
  }
  done()
}

/** The tool a `tools/call` request names, or `null` for any other message (or a name that is no string). */
function toolNameOf(message: unknown): string | null {
  if (typeof message !== 'object' || message === null) return null
  const { method, params } = message as { method?: unknown, params?: unknown }
  if (method !== 'tools/call') return null
  const name = typeof params === 'object' && params !== null ? (params as { name?: unknown }).name : undefined
  // Without a string name, the SDK refuses the message (invalid params) and runs no tool.
  return typeof name === 'string' ? name : null
}

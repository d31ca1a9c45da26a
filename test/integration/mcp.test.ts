import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { Client, InsufficientScopeError, SdkHttpError, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import type { Tool } from '@modelcontextprotocol/client'
import { Client as LegacyClient } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport as LegacyTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import Fastify from 'fastify'
import fastifyEntraId, { requireScopes } from 'fastify-entra-id'
import { startTestIssuer } from 'fastify-entra-id/testing'
import { buildApp } from '../../src/app.js'
import { ConfigError } from '../../src/config/config-error.js'
import { startHarness, tempDir } from '../helpers/app.js'
import type { Harness } from '../helpers/app.js'
import { allowedOrigins, loopbackOrigins, originAllowed, serializedOrigin } from '../../src/mcp/origin.js'
import { AUTHORIZATION_META_KEY, authorizeTool } from '../../src/mcp/tool-authorization.js'
import type { ToolAuthorization } from '../../src/mcp/tool-authorization.js'

/** The revision the server implements, which every request of the SDK's v2 client pinned to it names. */
const REVISION = '2026-07-28'
const TOOL_NAMES = ['list_todos', 'get_todo', 'create_todo', 'update_todo', 'delete_todo']

/** What the client's fetch saw: each response's status and challenge, and a refusal's error code. */
interface Seen { readonly status: number, readonly challenge: string | null, readonly code?: string }

/** A fetch that records each HTTP answer in `seen`. */
function recording(seen: Seen[]): typeof fetch {
  return async (input, init) => {
    const response = await fetch(input, init)
    const challenge = response.headers.get('www-authenticate')
    if (response.ok || response.status === 405) seen.push({ status: response.status, challenge })
    else seen.push({ status: response.status, challenge, code: (await response.clone().json() as { code: string }).code })
    return response
  }
}

/**
 * The SDK's v2 client pinned to revision 2026-07-28 (no `initialize`: `server/discover`, then every request with
 * its `_meta` envelope and the `Mcp-Method`/`Mcp-Name` headers), connected to `url` with `token` (none: no
 * Authorization header), recording each HTTP answer.
 */
async function connect(url: URL, token: string | null, seen: Seen[] = []): Promise<Client> {
  const transport = new StreamableHTTPClientTransport(url, {
    requestInit: { headers: token === null ? {} : { authorization: `Bearer ${token}` } },
    fetch: recording(seen)
  })
  const client = new Client({ name: 'mcp-test', version: '1.0.0' }, { versionNegotiation: { mode: { pin: REVISION } } })
  await client.connect(transport)
  return client
}

/** The structured result of a tool call that succeeded. */
async function call<T>(client: Client, name: string, args: Record<string, unknown>): Promise<T> {
  const result = await client.callTool({ name, arguments: args })
  assert.equal(result.isError, undefined, JSON.stringify(result.content))
  return result.structuredContent as T
}

/** The code of a tool call that failed as a tool error (`isError`). */
async function toolErrorCode(client: Client, name: string, args: Record<string, unknown>): Promise<unknown> {
  const result = await client.callTool({ name, arguments: args })
  assert.equal(result.isError, true)
  return result._meta?.code
}

/** A tool's authorization, as tools/list shows it. */
function authorizationOf(tool: Tool | undefined): ToolAuthorization | undefined {
  return tool?._meta?.[AUTHORIZATION_META_KEY] as ToolAuthorization | undefined
}

interface TodoView { id: string, title: string, done: boolean, owner: { tid: string, oid: string } }

const ENVELOPE = {
  'io.modelcontextprotocol/protocolVersion': REVISION,
  'io.modelcontextprotocol/clientInfo': { name: 'fetch', version: '1' },
  'io.modelcontextprotocol/clientCapabilities': {}
}
/** A 2026-07-28 request's body. */
function request(method: string, params: Record<string, unknown> = {}, id: number | string = 1): string {
  return JSON.stringify({ jsonrpc: '2.0', id, method, params: { ...params, _meta: ENVELOPE } })
}
/** A 2026-07-28 request's headers: the body's method and name mirrored. */
function headersOf(method: string, name?: string): Record<string, string> {
  return {
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': REVISION,
    'mcp-method': method,
    ...(name === undefined ? {} : { 'mcp-name': name })
  }
}
const DISCOVER = request('server/discover')

/** Whether the v2 client refused with HTTP `status` (a 403 challenge is its InsufficientScopeError). */
function refusedWith(status: number): (error: unknown) => boolean {
  return (error) => (status === 403 && error instanceof InsufficientScopeError) ||
    (error instanceof SdkHttpError && (error.data as { status?: unknown } | undefined)?.status === status)
}

describe('the MCP server (/mcp)', () => {
  let h: Harness
  let url: URL
  const clients: Client[] = []
  before(async () => {
    h = await startHarness('sqlite')
    url = new URL(`${await h.app.listen({ host: '127.0.0.1', port: 0 })}/mcp`)
  })
  after(async () => {
    for (const client of clients) await client.close()
    await h.close()
  })
  async function client(token: string | null, seen?: Seen[]): Promise<Client> {
    const c = await connect(url, token, seen)
    clients.push(c)
    return c
  }
  function post(body: string, headers: Record<string, string> = {}): Promise<Response> {
    return fetch(url, { method: 'POST', headers: { ...headersOf('server/discover'), ...headers }, body })
  }

  test('lists the five todo tools at 2026-07-28, in a fixed order, with their schemas and what each requires', async () => {
    const c = await client(await h.callers.user(h.callers.alice, ['Todo.Read']))
    assert.equal(c.getServerVersion()?.name, 'todo-api')
    const { tools } = await c.listTools()
    // The same order on every call (the revision asks for a deterministic one, for clients' caches).
    assert.deepEqual(tools.map((t) => t.name), TOOL_NAMES)
    // Each tool's guards, as its _meta shows them: the REST routes' (no PUBLIC_BASE_URL here: plain scope names).
    const read = { user: [{ scopes: ['Todo.Read'], appRoles: [] }], app: [{ scopes: [], appRoles: ['Todo.Read.All'] }], conditions: [] }
    const write = { user: [{ scopes: ['Todo.Write'], appRoles: [] }], app: [{ scopes: [], appRoles: ['Todo.Write.All'] }], conditions: [] }
    assert.deepEqual(tools.map(authorizationOf), [read, read, write, write, write])
    const byName = new Map(tools.map((t) => [t.name, t]))
    const create = byName.get('create_todo')?.inputSchema
    assert.deepEqual(create?.required, ['title'])
    assert.deepEqual(create?.properties?.title, {
      type: 'string', minLength: 1, maxLength: 200, pattern: '\\S', description: (create?.properties?.title as { description: string }).description
    })
    assert.equal((create?.properties?.done as { type: string }).type, 'boolean')
    for (const name of ['get_todo', 'delete_todo']) {
      const schema = byName.get(name)?.inputSchema
      assert.deepEqual(schema?.required, ['id'])
      assert.equal((schema?.properties?.id as { format: string }).format, 'uuid')
    }
    assert.deepEqual(byName.get('update_todo')?.inputSchema.required, ['id'])
    const list = byName.get('list_todos')?.inputSchema
    assert.equal(list?.required, undefined)
    assert.deepEqual(list?.properties?.limit, { type: 'integer', minimum: 1, maximum: 100, description: 'Page size, 1 to 100; default 20' })
    assert.equal(byName.get('list_todos')?.annotations?.readOnlyHint, true)
    assert.equal(byName.get('delete_todo')?.annotations?.destructiveHint, true)
  })

  test('creates, lists, reads, changes and deletes a todo, over the REST routes\' store', async () => {
    const c = await client(await h.callers.user(h.callers.alice, ['Todo.Read', 'Todo.Write']))
    const created = await call<TodoView>(c, 'create_todo', { title: 'Write the MCP section' })
    assert.equal(created.title, 'Write the MCP section')
    assert.equal(created.done, false)
    assert.deepEqual(created.owner, { tid: h.issuer.tenantId, oid: h.callers.alice })
    // The same store as the REST API.
    assert.equal((await h.store.get(created.id, {}))?.title, 'Write the MCP section')

    const page = await call<{ items: TodoView[], nextCursor: string | null }>(c, 'list_todos', {})
    assert.deepEqual(page.items.map((t) => t.id), [created.id])
    assert.equal(page.nextCursor, null)
    assert.equal((await call<TodoView>(c, 'get_todo', { id: created.id.toUpperCase() })).id, created.id)

    const changed = await call<TodoView>(c, 'update_todo', { id: created.id, done: true })
    assert.equal(changed.done, true)
    assert.equal(changed.title, 'Write the MCP section')
    assert.equal(await toolErrorCode(c, 'update_todo', { id: created.id }), 'TODO_NOTHING_TO_CHANGE')

    assert.deepEqual(await call(c, 'delete_todo', { id: created.id }), { id: created.id, deleted: true })
    assert.equal(await toolErrorCode(c, 'get_todo', { id: created.id }), 'TODO_NOT_FOUND')
    assert.equal(await h.store.get(created.id, {}), null)
  })

  test('refuses arguments the REST routes refuse, as tool errors', async () => {
    const c = await client(await h.callers.user(h.callers.alice, ['Todo.Read', 'Todo.Write']))
    for (const title of ['', '   ', 'two\nlines', 'x'.repeat(201)]) {
      const result = await c.callTool({ name: 'create_todo', arguments: { title } })
      assert.equal(result.isError, true, JSON.stringify(title))
    }
    // 200 code points are a title, though 400 UTF-16 code units: the REST rule.
    assert.equal((await call<TodoView>(c, 'create_todo', { title: '😀'.repeat(200) })).title, '😀'.repeat(200))
    assert.equal((await c.callTool({ name: 'get_todo', arguments: { id: 'not-a-uuid' } })).isError, true)
    assert.equal(await toolErrorCode(c, 'list_todos', { cursor: 'AAAA' }), 'TODO_BAD_CURSOR')
    // Only applications may list by owner.
    assert.equal(await toolErrorCode(c, 'list_todos', { owner: h.callers.bob }), 'TODO_OWNER_FILTER_FOR_APPS')
  })

  test('keeps each user\'s todos to themselves; an application with Todo.Read.All sees all', async () => {
    const alice = await client(await h.callers.user(h.callers.alice, ['Todo.Read', 'Todo.Write']))
    const bob = await client(await h.callers.user(h.callers.bob, ['Todo.Read', 'Todo.Write']))
    const mine = await call<TodoView>(alice, 'create_todo', { title: 'Alice\'s' })
    const his = await call<TodoView>(bob, 'create_todo', { title: 'Bob\'s' })

    const bobSees = await call<{ items: TodoView[] }>(bob, 'list_todos', { limit: 100 })
    assert.ok(bobSees.items.every((t) => t.owner.oid === h.callers.bob))
    assert.ok(bobSees.items.some((t) => t.id === his.id))
    // Another user's todo is "not found", to read, change or delete: its existence is not revealed.
    assert.equal(await toolErrorCode(bob, 'get_todo', { id: mine.id }), 'TODO_NOT_FOUND')
    assert.equal(await toolErrorCode(bob, 'update_todo', { id: mine.id, title: 'Mine now' }), 'TODO_NOT_FOUND')
    assert.equal(await toolErrorCode(bob, 'delete_todo', { id: mine.id }), 'TODO_NOT_FOUND')
    assert.equal((await h.store.get(mine.id, {}))?.title, 'Alice\'s')

    const reader = await client(await h.callers.app(['Todo.Read.All']))
    const all = await call<{ items: TodoView[] }>(reader, 'list_todos', { limit: 100 })
    for (const id of [mine.id, his.id]) assert.ok(all.items.some((t) => t.id === id))
    const ofBob = await call<{ items: TodoView[] }>(reader, 'list_todos', { owner: h.callers.bob, limit: 100 })
    assert.ok(ofBob.items.length > 0 && ofBob.items.every((t) => t.owner.oid === h.callers.bob))
    assert.equal((await call<TodoView>(reader, 'get_todo', { id: mine.id })).title, 'Alice\'s')
  })

  test('refuses a write tool to a read-only token with the 403 insufficient_scope challenge naming Todo.Write', async () => {
    const seen: Seen[] = []
    const c = await client(await h.callers.user(h.callers.alice, ['Todo.Read']), seen)
    const before = await call<{ items: TodoView[] }>(c, 'list_todos', { limit: 100 })
    await assert.rejects(c.callTool({ name: 'create_todo', arguments: { title: 'Not allowed' } }),
      refusedWith(403))
    assert.deepEqual(seen.at(-1), {
      status: 403,
      challenge: 'Bearer realm="api", error="insufficient_scope", error_description="The token lacks the required scope: Todo.Write", scope="Todo.Write"',
      code: 'ENTRA_INSUFFICIENT_SCOPE'
    })
    // Nothing was created, and the client still reads.
    assert.equal((await call<{ items: TodoView[] }>(c, 'list_todos', { limit: 100 })).items.length, before.items.length)
  })

  test('refuses a write tool to an application without Todo.Write.All, naming the app role', async () => {
    const seen: Seen[] = []
    const c = await client(await h.callers.app(['Todo.Read.All']), seen)
    await assert.rejects(c.callTool({ name: 'delete_todo', arguments: { id: '44444444-4444-4444-8444-444444444444' } }),
      refusedWith(403))
    assert.deepEqual([seen.at(-1)?.status, seen.at(-1)?.code], [403, 'ENTRA_INSUFFICIENT_SCOPE'])
    assert.match(seen.at(-1)?.challenge ?? '', /^Bearer realm="api", error="insufficient_scope", .*scope="Todo\.Write\.All"/)
  })

  test('answers 401 with a Bearer challenge without a token, to the SDK client and to a bare POST', async () => {
    const seen: Seen[] = []
    await assert.rejects(connect(url, null, seen), refusedWith(401))
    assert.deepEqual(seen, [{ status: 401, challenge: 'Bearer realm="api"', code: 'ENTRA_TOKEN_MISSING' }])
    const res = await post(DISCOVER)
    assert.equal(res.status, 401)
    assert.equal(res.headers.get('www-authenticate'), 'Bearer realm="api"')
    assert.equal((await res.json() as { code: string }).code, 'ENTRA_TOKEN_MISSING')
  })

  test('refuses a request from a foreign Origin with 403 MCP_ORIGIN_NOT_ALLOWED, before authentication', async () => {
    const token = await h.callers.user(h.callers.alice, ['Todo.Read'])
    for (const origin of ['https://evil.example', 'null', `http://localhost:${url.port}`]) {
      const res = await post(DISCOVER, { origin, authorization: `Bearer ${token}` })
      assert.equal(res.status, 403, origin)
      assert.equal((await res.json() as { code: string }).code, 'MCP_ORIGIN_NOT_ALLOWED')
    }
    // Without a token too: the Origin is checked first, and nothing is said about the token.
    const anonymous = await post(DISCOVER, { origin: 'https://evil.example' })
    assert.equal(anonymous.status, 403)
    assert.equal(anonymous.headers.get('www-authenticate'), null)
    // Without Origin (what the SDK client sends: not a browser), the request is served.
    const res = await post(DISCOVER, { authorization: `Bearer ${token}` })
    assert.equal(res.status, 200)
    const { result } = await res.json() as { result: { supportedVersions: string[], _meta: Record<string, { name: string }> } }
    assert.deepEqual(result.supportedVersions, [REVISION])
    assert.equal(result._meta['io.modelcontextprotocol/serverInfo']?.name, 'todo-api')
  })

  test('answers a body that is not one JSON-RPC message with 400, not 500, and runs no tool', async () => {
    const token = await h.callers.user(h.callers.alice, ['Todo.Read'])
    const auth = { authorization: `Bearer ${token}` }
    const count = async (): Promise<number> => (await h.store.list({ filter: {}, limit: 100 })).items.length
    const todos = await count()
    const broken = await post('{"jsonrpc":', auth)
    assert.equal(broken.status, 400)
    // The SDK refuses what is JSON but no JSON-RPC message.
    for (const body of ['{"jsonrpc":"2.0","id":1}', '42', 'null']) {
      const res = await post(body, auth)
      assert.equal(res.status, 400, body)
    }
    // A batch is refused whole, before any of its calls is looked at: a write hidden behind a read does not run.
    const batch = await post(JSON.stringify([
      { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'list_todos', arguments: {} } },
      { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'create_todo', arguments: { title: 'Smuggled' } } }
    ]), auth)
    assert.equal(batch.status, 400)
    assert.equal((await batch.json() as { code: string }).code, 'MCP_BATCH_NOT_SUPPORTED')
    assert.equal(await count(), todos)
    // A text body is no JSON-RPC message either.
    assert.equal((await post('hello', { ...auth, 'content-type': 'text/plain' })).status, 415)
  })

  test('answers a call of an unknown tool with JSON-RPC invalid params, and no tool runs', async () => {
    const res = await post(request('tools/call', { name: 'drop_tables', arguments: {} }, 7),
      { ...headersOf('tools/call', 'drop_tables'), authorization: `Bearer ${await h.callers.user(h.callers.alice, ['Todo.Read', 'Todo.Write'])}` })
    const body = await res.json() as { id: number, error?: { code: number }, result?: { isError: boolean } }
    assert.equal(res.status, 200)
    assert.equal(body.id, 7)
    assert.equal(body.error?.code, -32602)
  })

  // What revision 2026-07-28 adds to the transport, which the conformance suite (at 2025-11-25) does not test.
  test('2026-07-28: refuses with 400 HeaderMismatch (-32020) a request whose Mcp-Method or Mcp-Name is missing or disagrees with the body', async () => {
    const auth = { authorization: `Bearer ${await h.callers.user(h.callers.alice, ['Todo.Read'])}` }
    const cases: [string, Record<string, string>][] = [
      [request('tools/list'), headersOf('tools/call')],
      [request('tools/call', { name: 'list_todos', arguments: {} }), headersOf('tools/call', 'get_todo')],
      [request('tools/call', { name: 'list_todos', arguments: {} }), headersOf('tools/call')],
      [request('tools/list'), { ...headersOf('tools/list'), 'mcp-protocol-version': '2025-11-25' }]
    ]
    for (const [body, headers] of cases) {
      const res = await post(body, { ...headers, ...auth })
      assert.equal(res.status, 400, JSON.stringify(headers))
      assert.equal((await res.json() as { error: { code: number } }).error.code, -32020, JSON.stringify(headers))
    }
  })

  test('2026-07-28: refuses a revision it does not implement with 400 and the versions it supports', async () => {
    const body = JSON.stringify({ jsonrpc: '2.0', id: 3, method: 'tools/list', params: { _meta: { ...ENVELOPE, 'io.modelcontextprotocol/protocolVersion': '2099-01-01' } } })
    const res = await post(body, { ...headersOf('tools/list'), 'mcp-protocol-version': '2099-01-01', authorization: `Bearer ${await h.callers.user(h.callers.alice, ['Todo.Read'])}` })
    assert.equal(res.status, 400)
    const { error } = await res.json() as { error: { code: number, data: { supported: string[] } } }
    assert.equal(error.code, -32022)
    assert.ok(error.data.supported.includes(REVISION))
  })

  test('2026-07-28: is stateless: no session is minted or honoured, ping is gone, results say they are complete and who answered', async () => {
    const auth = { authorization: `Bearer ${await h.callers.user(h.callers.alice, ['Todo.Read'])}` }
    // A session ID and a Last-Event-ID from an older client are ignored, never echoed.
    const listed = await post(request('tools/list'), { ...headersOf('tools/list'), ...auth, 'mcp-session-id': 'from-an-old-client', 'last-event-id': '5' })
    assert.equal(listed.status, 200)
    assert.equal(listed.headers.get('mcp-session-id'), null)
    assert.match(listed.headers.get('content-type') ?? '', /^application\/json/)
    const { result } = await listed.json() as { result: { resultType: string, ttlMs: number, cacheScope: string, _meta: Record<string, unknown> } }
    assert.equal(result.resultType, 'complete')
    // Cacheable for 5 minutes by this client only: the list names the configuration's groups and contexts.
    assert.deepEqual([result.ttlMs, result.cacheScope], [300_000, 'private'])
    assert.deepEqual(result._meta['io.modelcontextprotocol/serverInfo'], { name: 'todo-api', version: '1.0.0' })
    // ping left the protocol in 2026-07-28: an unknown method is a 404 with JSON-RPC's "method not found".
    const ping = await post(request('ping'), { ...headersOf('ping'), ...auth })
    assert.equal(ping.status, 404)
    assert.equal((await ping.json() as { error: { code: number } }).error.code, -32601)
  })

  test('serves a 2025-11-25 client too (initialize, then stateless requests), with the same tools and guards', async () => {
    const seen: Seen[] = []
    const transport = new LegacyTransport(url, {
      requestInit: { headers: { authorization: `Bearer ${await h.callers.user(h.callers.alice, ['Todo.Read'])}` } },
      fetch: recording(seen)
    })
    const legacy = new LegacyClient({ name: 'mcp-test-2025', version: '1.0.0' })
    await legacy.connect(transport)
    try {
      assert.equal(legacy.getServerVersion()?.name, 'todo-api')
      assert.equal(transport.sessionId, undefined)
      assert.deepEqual((await legacy.listTools()).tools.map((t) => t.name), TOOL_NAMES)
      assert.deepEqual(await legacy.ping(), {})
      await assert.rejects(legacy.callTool({ name: 'create_todo', arguments: { title: 'Not allowed' } }))
      assert.deepEqual([seen.at(-1)?.status, seen.at(-1)?.code], [403, 'ENTRA_INSUFFICIENT_SCOPE'])
    } finally {
      await legacy.close()
    }
  })

  test('answers GET and DELETE with 405 and Allow: POST (no SSE stream, no sessions), after authentication', async () => {
    const auth = { authorization: `Bearer ${await h.callers.user(h.callers.alice, ['Todo.Read'])}` }
    for (const method of ['GET', 'DELETE']) {
      const res = await fetch(url, { method, headers: { ...auth, accept: 'text/event-stream' } })
      assert.equal(res.status, 405, method)
      assert.equal(res.headers.get('allow'), 'POST')
      assert.equal((await res.json() as { code: string }).code, 'MCP_METHOD_NOT_ALLOWED')
      assert.equal((await fetch(url, { method })).status, 401)
    }
  })

  test('is not in the OpenAPI document', async () => {
    const doc = (await h.app.inject({ url: '/docs/json' })).json<{ paths: Record<string, unknown> }>()
    assert.equal(doc.paths['/mcp'], undefined)
  })
})

describe('the MCP server with AUTH_REQUIRED_GROUPS, AUTH_DELETE_AUTH_CONTEXT and MCP_ALLOWED_ORIGINS', () => {
  const GROUP = '55555555-5555-4555-8555-555555555555'
  let h: Harness
  let url: URL
  const clients: Client[] = []
  before(async () => {
    h = await startHarness('sqlite', {
      AUTH_REQUIRED_GROUPS: GROUP,
      AUTH_DELETE_AUTH_CONTEXT: 'c1',
      MCP_ALLOWED_ORIGINS: 'https://app.contoso.com, http://Localhost:6274/'
    })
    url = new URL(`${await h.app.listen({ host: '127.0.0.1', port: 0 })}/mcp`)
  })
  after(async () => {
    for (const client of clients) await client.close()
    await h.close()
  })
  async function client(token: string, seen?: Seen[]): Promise<Client> {
    const c = await connect(url, token, seen)
    clients.push(c)
    return c
  }

  test('refuses the tools to users outside the groups, as the REST routes do; applications are not concerned', async () => {
    const seen: Seen[] = []
    // tools/list needs only a valid token.
    const outsider = await client(await h.callers.user(h.callers.bob, ['Todo.Read']), seen)
    assert.equal((await outsider.listTools()).tools.length, 5)
    await assert.rejects(outsider.callTool({ name: 'list_todos', arguments: {} }), refusedWith(403))
    assert.deepEqual([seen.at(-1)?.status, seen.at(-1)?.code], [403, 'ENTRA_CLAIM_REQUIRED'])
    const member = await client(await h.callers.user(h.callers.alice, ['Todo.Read'], { claims: { groups: [GROUP] } }))
    assert.deepEqual((await call<{ items: unknown[] }>(member, 'list_todos', {})).items, [])
    const app = await client(await h.callers.app(['Todo.Read.All']))
    assert.deepEqual((await call<{ items: unknown[] }>(app, 'list_todos', {})).items, [])
  })

  test('tools/list shows the groups and the authentication context among what the tools require of users', async () => {
    const c = await client(await h.callers.user(h.callers.bob, ['Todo.Read']))
    const byName = new Map((await c.listTools()).tools.map((t) => [t.name, authorizationOf(t)]))
    const group = `claim groups: ${GROUP} (users)`
    assert.deepEqual(byName.get('list_todos')?.conditions, [group])
    assert.deepEqual(byName.get('create_todo')?.conditions, [group])
    assert.deepEqual(byName.get('delete_todo'), {
      user: [{ scopes: ['Todo.Write'], appRoles: [] }],
      app: [{ scopes: [], appRoles: ['Todo.Write.All'] }],
      conditions: [group, 'authentication context c1 (users)']
    })
  })

  test('needs the authentication context of users for delete_todo only', async () => {
    const seen: Seen[] = []
    const scopes = ['Todo.Read', 'Todo.Write']
    const plain = await client(await h.callers.user(h.callers.alice, scopes, { claims: { groups: [GROUP] } }), seen)
    const todo = await call<TodoView>(plain, 'create_todo', { title: 'Delete me after stepping up' })
    await assert.rejects(plain.callTool({ name: 'delete_todo', arguments: { id: todo.id } }), refusedWith(403))
    assert.deepEqual([seen.at(-1)?.status, seen.at(-1)?.code], [403, 'ENTRA_AUTH_CONTEXT_REQUIRED'])
    const steppedUp = await client(await h.callers.user(h.callers.alice, scopes, { claims: { groups: [GROUP], acrs: ['c1'] } }))
    assert.deepEqual(await call(steppedUp, 'delete_todo', { id: todo.id }), { id: todo.id, deleted: true })
  })

  test('serves the allowed origins, compared as origins, and refuses others', async () => {
    const token = await h.callers.user(h.callers.alice, ['Todo.Read'])
    const status = async (origin: string): Promise<number> => (await fetch(url, {
      method: 'POST', headers: { ...headersOf('server/discover'), origin, authorization: `Bearer ${token}` }, body: DISCOVER
    })).status
    assert.equal(await status('https://app.contoso.com'), 200)
    assert.equal(await status('http://localhost:6274'), 200)
    assert.equal(await status('https://app.contoso.com:8443'), 403)
    assert.equal(await status('http://app.contoso.com'), 403)
  })
})

describe('the MCP server with PUBLIC_BASE_URL: its RFC 9728 metadata', () => {
  // The public origin, as a reverse proxy in front of this server would serve it.
  const BASE = 'https://todo.contoso.example'
  const METADATA = `${BASE}/.well-known/oauth-protected-resource/mcp`
  let h: Harness
  let url: URL
  const clients: Client[] = []
  before(async () => {
    h = await startHarness('sqlite', { PUBLIC_BASE_URL: BASE })
    url = new URL(`${await h.app.listen({ host: '127.0.0.1', port: 0 })}/mcp`)
  })
  after(async () => {
    for (const client of clients) await client.close()
    await h.close()
  })

  test('the 401 without a token names the metadata, which describes {PUBLIC_BASE_URL}/mcp and its scopes', async () => {
    const seen: Seen[] = []
    await assert.rejects(connect(url, null, seen), refusedWith(401))
    assert.deepEqual(seen, [{ status: 401, challenge: `Bearer realm="api", resource_metadata="${METADATA}"`, code: 'ENTRA_TOKEN_MISSING' }])
    // Fetched by its path from this server, which the public origin serves.
    const res = await fetch(new URL(new URL(METADATA).pathname, url))
    assert.equal(res.status, 200)
    assert.deepEqual(await res.json(), {
      resource: `${BASE}/mcp`,
      authorization_servers: [h.issuer.issuer(2)],
      scopes_supported: [`${BASE}/mcp/Todo.Read`, `${BASE}/mcp/Todo.Write`],
      bearer_methods_supported: ['header'],
      resource_name: 'Todo MCP server'
    })
  })

  test('the 403 of a tool call names the metadata and the scope to step up to', async () => {
    const seen: Seen[] = []
    const c = await connect(url, await h.callers.user(h.callers.alice, ['Todo.Read']), seen)
    clients.push(c)
    await assert.rejects(c.callTool({ name: 'create_todo', arguments: { title: 'Not allowed' } }),
      refusedWith(403))
    assert.deepEqual(seen.at(-1), {
      status: 403,
      challenge: `Bearer realm="api", resource_metadata="${METADATA}", error="insufficient_scope", ` +
        // The scope as the resource lists it: what the client asks Entra for when it steps up.
        `error_description="The token lacks the required scope: Todo.Write", scope="${BASE}/mcp/Todo.Write"`,
      code: 'ENTRA_INSUFFICIENT_SCOPE'
    })
  })

  test('tools/list names each tool\'s scopes as a client requests them: under {PUBLIC_BASE_URL}/mcp', async () => {
    const c = await connect(url, await h.callers.user(h.callers.alice, ['Todo.Read']))
    clients.push(c)
    const tools = (await c.listTools()).tools
    assert.deepEqual(tools.map((t) => authorizationOf(t)?.user), [
      [{ scopes: [`${BASE}/mcp/Todo.Read`], appRoles: [] }], [{ scopes: [`${BASE}/mcp/Todo.Read`], appRoles: [] }],
      [{ scopes: [`${BASE}/mcp/Todo.Write`], appRoles: [] }], [{ scopes: [`${BASE}/mcp/Todo.Write`], appRoles: [] }],
      [{ scopes: [`${BASE}/mcp/Todo.Write`], appRoles: [] }]
    ])
  })

  test('refuses a token for the REST API\'s resource ({PUBLIC_BASE_URL}/api) with 401 invalid_token naming the metadata; the REST API takes it', async () => {
    const token = await h.issuer.mint({ version: 1, objectId: h.callers.alice, scopes: ['Todo.Read'], audience: `${BASE}/api` })
    const seen: Seen[] = []
    await assert.rejects(connect(url, token, seen), refusedWith(401))
    assert.deepEqual(seen, [{
      status: 401,
      challenge: `Bearer realm="api", resource_metadata="${METADATA}", error="invalid_token", ` +
        `error_description="The access token is for ${BASE}/api, not for this MCP server: request a token for the resource its metadata names"`,
      code: 'ENTRA_TOKEN_INVALID_AUDIENCE'
    }])
    const rest = await h.app.inject({ url: '/api/todos', headers: { authorization: `Bearer ${token}` } })
    assert.equal(rest.statusCode, 200)
  })

  test('serves a token whose audience is {PUBLIC_BASE_URL}/mcp, the App ID URI MCP clients ask for', async () => {
    const token = await h.issuer.mint({ version: 1, objectId: h.callers.alice, scopes: ['Todo.Read'], audience: `${BASE}/mcp` })
    const c = await connect(url, token)
    clients.push(c)
    assert.deepEqual((await call<{ items: unknown[] }>(c, 'list_todos', {})).items, [])
  })
})

describe('MCP_ALLOWED_ORIGINS and the development mode', () => {
  test('a value that is not a list of origins fails start-up, naming the variable', async () => {
    const dir = tempDir()
    try {
      for (const value of ['https://app.contoso.com/path', '*', 'app.contoso.com', 'https://app.contoso.com;https://b.example', 'http://[::1']) {
        await assert.rejects(buildApp({ env: { DATA_DIR: dir.path, DEV_ISSUER_PORT: '0', LOG_LEVEL: 'silent', MCP_ALLOWED_ORIGINS: value } }),
          (error: unknown) => error instanceof ConfigError && error.problems.length === 1 && (error.problems[0] ?? '').startsWith('MCP_ALLOWED_ORIGINS must be'), value)
      }
    } finally {
      dir.remove()
    }
  })

  test('in development mode, the server\'s own loopback origins are allowed, on the port it listens on', async () => {
    const dir = tempDir()
    const app = await buildApp({ env: { DATA_DIR: dir.path, DEV_ISSUER_PORT: '0', PORT: '0', LOG_LEVEL: 'silent' } })
    try {
      const base = await app.listen({ host: '127.0.0.1', port: 0 })
      const port = new URL(base).port
      const status = async (origin: string): Promise<number> => (await fetch(`${base}/mcp`, {
        method: 'POST', headers: { ...headersOf('server/discover'), origin }, body: DISCOVER
      })).status
      // Past the Origin check, the request is refused for its missing token.
      assert.equal(await status(`http://localhost:${port}`), 401)
      assert.equal(await status(`http://127.0.0.1:${port}`), 401)
      assert.equal(await status('http://localhost:6274'), 403)
      assert.equal(await status(`http://localhost:${String(Number(port) + 1)}`), 403)
    } finally {
      await app.close()
      dir.remove()
    }
  })
})

describe('a tool declared with several guards', () => {
  test('is refused with one 403 challenge naming every scope it needs, whichever of its guards require them', async () => {
    const issuer = await startTestIssuer()
    const app = Fastify()
    try {
      await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
      // Two guards, each one scope: an operation that both reads and writes, declared as two requirements.
      const guards = [requireScopes('Todo.Read'), requireScopes('Todo.Write')]
      app.post('/mcp', { onRequest: app.entraId.authenticate, preHandler: (request, reply) => authorizeTool(request, reply, guards) },
        (_request, reply) => { void reply.send({ ran: true }) })
      const send = async (scopes: string[]) => {
        const res = await app.inject({ method: 'POST', url: '/mcp', headers: { authorization: `Bearer ${await issuer.mint({ scopes })}` } })
        return [res.statusCode, res.headers['www-authenticate']]
      }
      // Neither scope: both named at once, not one per round trip.
      const [status, challenge] = await send(['Other.Scope'])
      assert.equal(status, 403)
      assert.match(String(challenge), /error="insufficient_scope", .*scope="Todo\.Read Todo\.Write"$/)
      // One of them: the challenge names the other.
      assert.match(String((await send(['Todo.Read']))[1]), /scope="Todo\.Write"$/)
      assert.deepEqual(await send(['Todo.Read', 'Todo.Write']), [200, undefined])
    } finally {
      await app.close()
      await issuer.close()
    }
  })
})

describe('the Origin rule', () => {
  test('compares serialized origins and refuses what is none', () => {
    assert.equal(serializedOrigin('HTTPS://Example.COM:443/'), 'https://example.com')
    assert.equal(serializedOrigin('null'), null)
    assert.equal(serializedOrigin('file:///etc/passwd'), null)
    const allowed = allowedOrigins(['https://app.contoso.com', ...loopbackOrigins(18511)])
    assert.equal(originAllowed(undefined, allowed), true)
    assert.equal(originAllowed('https://app.contoso.com', allowed), true)
    assert.equal(originAllowed('http://127.0.0.1:18511', allowed), true)
    assert.equal(originAllowed('http://[::1]:18511', allowed), true)
    assert.equal(originAllowed('http://127.0.0.1:18512', allowed), false)
    assert.equal(originAllowed('https://app.contoso.com, https://evil.example', allowed), false)
    assert.equal(originAllowed(['https://app.contoso.com'], allowed), false)
    assert.throws(() => allowedOrigins(['http://[::1']), TypeError)
  })
})

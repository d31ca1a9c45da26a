/**
 * A session of the MCP SDK's own client (v2, pinned to revision 2026-07-28) against a running service, printed as
 * a Markdown transcript: the 401 without a token and the protected-resource metadata its challenge names, then
 * server/discover, tools/list (with what each tool requires) and tool calls with a token. Each HTTP exchange is shown (method, status, the JSON-RPC method, the answer); the token
 * never is.
 *
 *   TOKEN=$(npm run -s token -- --scope Todo.Read --scope Todo.Write) npm run -s mcp-demo
 *   READ_TOKEN=$(npm run -s token -- --scope Todo.Read) TOKEN=... npm run -s mcp-demo   # and the 403 step-up
 *   npm run -s mcp-demo -- --url https://todo.contoso.com/mcp      # TOKEN from Entra ID
 */
import '../src/config/refuse-unsupported-node.js'
import { parseArgs } from 'node:util'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { AUTHORIZATION_META_KEY } from '../src/mcp/tool-authorization.js'
import type { ToolAuthorization } from '../src/mcp/tool-authorization.js'

/** The revision the client speaks: no initialize, every request with its `_meta` envelope and MCP headers. */
const REVISION = '2026-07-28'
const clientOptions = { versionNegotiation: { mode: { pin: REVISION } } }

const { values } = parseArgs({ options: { url: { type: 'string', default: 'http://localhost:8080/mcp' }, help: { type: 'boolean', short: 'h' } } })
if (values.help === true) {
  process.stdout.write('Usage: TOKEN=<access token> npm run -s mcp-demo -- [--url <MCP endpoint>]  (default http://localhost:8080/mcp)\n')
  process.exit(0)
}
const token = process.env.TOKEN
if (token === undefined || token === '') {
  process.stderr.write('mcp-demo: set TOKEN, e.g. TOKEN=$(npm run -s token -- --scope Todo.Read --scope Todo.Write)\n')
  process.exit(2)
}
const url = new URL(values.url)
const out: string[] = []
const print = (line = ''): void => { out.push(line) }

/** A JSON answer, indented; long ones (tools/list) cut after `max` characters. */
function show(text: string, max = 1200): string {
  let body = text
  try { body = JSON.stringify(JSON.parse(text), null, 2) } catch { /* not JSON: as it came */ }
  return body.length > max ? `${body.slice(0, max)}\n… (${String(body.length - max)} more characters)` : body
}

/** While true, exchanges are not written (the second client's handshake, already shown once). */
let quiet = false

/** fetch, with each exchange written to the transcript. */
async function logged(input: string | URL | Request, init?: RequestInit): Promise<Response> {
  if (quiet) return fetch(input, init)
  const method = init?.method ?? 'GET'
  const sent = typeof init?.body === 'string' ? JSON.parse(init.body) as { method?: string } : undefined
  const headers = new Headers(init?.headers)
  const response = await fetch(input, init)
  const text = await response.clone().text()
  print(`#### ${method} ${new URL(String(input instanceof Request ? input.url : input)).pathname}${sent?.method === undefined ? '' : ` (${sent.method})`}` +
    `${headers.has('authorization') ? ', with the bearer token' : ''}: ${String(response.status)}`)
  print()
  if (typeof init?.body === 'string') print(`sent:\n\n\`\`\`json\n${show(init.body)}\n\`\`\`\n`)
  const challenge = response.headers.get('www-authenticate')
  if (challenge !== null) print(`\`WWW-Authenticate: ${challenge}\`\n`)
  if (text !== '') print(`answer (${response.headers.get('content-type') ?? 'no type'}):\n\n\`\`\`json\n${show(text)}\n\`\`\`\n`)
  return response
}

print(`# MCP session against ${url.href}`)
print()
print(`${new Date().toISOString()}, @modelcontextprotocol/client (v2) at revision ${REVISION}`)
print()
print('## Without a token')
print()
const refused = await logged(url, {
  method: 'POST',
  headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': REVISION, 'mcp-method': 'server/discover' },
  body: JSON.stringify({
    jsonrpc: '2.0',
    id: 0,
    method: 'server/discover',
    params: { _meta: { 'io.modelcontextprotocol/protocolVersion': REVISION, 'io.modelcontextprotocol/clientInfo': { name: 'mcp-demo', version: '1.0.0' }, 'io.modelcontextprotocol/clientCapabilities': {} } }
  })
})
const metadata = /resource_metadata="([^"]+)"/.exec(refused.headers.get('www-authenticate') ?? '')?.[1]
if (metadata === undefined) {
  print('The challenge names no resource_metadata (PUBLIC_BASE_URL is not set).\n')
} else {
  print('## The protected-resource metadata the challenge names')
  print()
  await logged(metadata)
}

print('## With a token: the SDK client')
print()
const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${token}` } }, fetch: logged })
const client = new Client({ name: 'mcp-demo', version: '1.0.0' }, clientOptions)
await client.connect(transport)
const { tools } = await client.listTools()
print('tools/list, with what each tool requires (its `_meta`):\n')
print('| tool | arguments | users | applications | conditions |\n|---|---|---|---|---|')
for (const t of tools) {
  const access = t._meta?.[AUTHORIZATION_META_KEY] as ToolAuthorization | undefined
  const ways = (paths: ToolAuthorization['user'] | undefined): string => (paths ?? []).map((p) => [...p.scopes, ...p.appRoles].join(' + ')).join(' or ')
  print(`| \`${t.name}\` | ${Object.keys(t.inputSchema.properties ?? {}).join(', ')} | ${ways(access?.user)} | ${ways(access?.app)} | ${(access?.conditions ?? []).join('; ')} |`)
}
print()
await client.callTool({ name: 'create_todo', arguments: { title: 'Try the MCP server' } })
await client.callTool({ name: 'list_todos', arguments: { limit: 5 } })
await client.close()

const readToken = process.env.READ_TOKEN
if (readToken !== undefined && readToken !== '') {
  print('## A read-only token calls create_todo: the step-up challenge')
  print()
  const readOnly = new Client({ name: 'mcp-demo', version: '1.0.0' }, clientOptions)
  quiet = true
  await readOnly.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: { authorization: `Bearer ${readToken}` } }, fetch: logged }))
  quiet = false
  await readOnly.callTool({ name: 'create_todo', arguments: { title: 'Not with Todo.Read' } }).then(
    () => { print('(unexpected: the call succeeded)') },
    (error: unknown) => { print(`The SDK client reports: ${error instanceof Error ? error.message.slice(0, 120) : String(error)}\n`) })
  await readOnly.close()
}
process.stdout.write(`${out.join('\n')}\n`)

import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import type { EntraMcpVerifier } from '../../src/mcp/index.js'

// The docs page's complete MCP server, as written there, run with the SDK's own client against the local issuer.
const GUIDE = fileURLToPath(new URL('../../../../docs/how-to/mcp-servers.md', import.meta.url))
const source = (file: string): string => pathToFileURL(fileURLToPath(new URL(`../../src/${file}`, import.meta.url))).href

/** One HTTP exchange as the client saw it. */
interface Exchange {
  readonly request: string
  /** The request's `MCP-Protocol-Version` header. */
  readonly revision: string | null
  readonly status: number
  readonly challenge: string | null
  readonly body: string
}

describe('the node:http MCP server of docs/how-to/mcp-servers.md', () => {
  let issuer: TestIssuer
  let dir: string
  let server: Server
  let verifier: EntraMcpVerifier
  let url: URL
  const resource = 'https://mcp.contoso.com/mcp'
  const metadataUrl = 'https://mcp.contoso.com/.well-known/oauth-protected-resource/mcp'

  before(async () => {
    const guide = await readFile(GUIDE, 'utf8')
    const block = /<!-- mcp-server-example[^>]*-->\n```ts\n([\s\S]*?)\n```/.exec(guide)?.[1]
    assert.ok(block !== undefined, 'docs/how-to/mcp-servers.md has the server')
    const listen = 'server.listen(Number(process.env.PORT ?? 3000))'
    assert.ok(block.includes(listen), 'it listens on PORT')
    // The package import points at this source tree and the SDK's at this workspace's (the file is written outside
    // it), the server listens on a free loopback port, and the module hands the test its server and verifier.
    const program = block
      .replaceAll('\'fastify-entra-id/mcp\'', `'${source('mcp/index.ts')}'`)
      .replaceAll(/'(@modelcontextprotocol\/[a-z]+)'/g, (_, name: string) => `'${import.meta.resolve(name)}'`)
      .replace(listen, 'server.listen(0, \'127.0.0.1\')') + '\nexport { server, verifier }\n'
    dir = await mkdtemp(join(tmpdir(), 'mcp-server-example-'))
    const file = join(dir, 'server.mts')
    await writeFile(file, program)
    issuer = await startTestIssuer()
    // The configuration the example reads from the environment, set only while it loads.
    const env = { AZURE_TENANT_ID: issuer.tenantId, AZURE_CLIENT_ID: issuer.clientId, AZURE_AUTHORITY_HOST: issuer.url, MCP_RESOURCE: resource }
    const saved = Object.fromEntries(Object.keys(env).map((name) => [name, process.env[name]]))
    Object.assign(process.env, env)
    try {
      ({ server, verifier } = await import(pathToFileURL(file).href) as { server: Server, verifier: EntraMcpVerifier })
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) Reflect.deleteProperty(process.env, name)
        else process.env[name] = value
      }
    }
    if (!server.listening) await new Promise((resolve) => server.once('listening', resolve))
    url = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`)
  })
  after(async () => {
    server?.close()
    verifier?.close()
    await issuer?.close()
    await rm(dir, { recursive: true, force: true })
  })

  /** The SDK's client with a bearer token, recording every exchange its transport makes. */
  function clientWith(token: string, revision?: string): { client: Client, transport: StreamableHTTPClientTransport, exchanges: Exchange[] } {
    const exchanges: Exchange[] = []
    const transport = new StreamableHTTPClientTransport(url, {
      authProvider: { token: () => Promise.resolve(token) },
      fetch: async (input, init) => {
        const answer = await fetch(input, init)
        const body = typeof init?.body === 'string' ? init.body : ''
        const method = /"method":"([^"]+)"/.exec(body)?.[1] ?? init?.method ?? 'GET'
        exchanges.push({
          request: method,
          revision: new Headers(init?.headers).get('mcp-protocol-version'),
          status: answer.status,
          challenge: answer.headers.get('www-authenticate'),
          body: await answer.clone().text()
        })
        return answer
      }
    })
    const client = new Client({ name: 'example-test', version: '1.0.0' }, revision === undefined ? {} : { versionNegotiation: { mode: { pin: revision } } })
    return { client, transport, exchanges }
  }

  // The SDK's handler serves 2026-07-28 on its modern path and 2025-11-25 (the client's default) on its fallback:
  // AuthInfo reaches the tool on both.
  for (const revision of ['2025-11-25', '2026-07-28']) {
    it(`lists and calls the tools for a token with the scope at ${revision}, the tool reading the caller from AuthInfo`, async () => {
      const token = await issuer.mint({ scopes: ['Todo.Read'], name: 'Alice', objectId: '11111111-2222-3333-4444-555555555555' })
      const { client, transport, exchanges } = clientWith(token, revision === '2025-11-25' ? undefined : revision)
      await client.connect(transport)
      try {
        const { tools } = await client.listTools()
        assert.deepEqual(tools.map((tool) => tool.name), ['whoami'])
        const result = await client.callTool({ name: 'whoami', arguments: {} })
        assert.deepEqual(result.content, [{ type: 'text', text: 'Alice (11111111-2222-3333-4444-555555555555)' }])
        assert.deepEqual(exchanges.filter((e) => e.request === 'tools/list' || e.request === 'tools/call').map((e) => [e.request, e.revision, e.status]),
          [['tools/list', revision, 200], ['tools/call', revision, 200]])
      } finally {
        await client.close()
      }
    })
  }

  it('refuses a token for another audience 401, naming the resource metadata', async () => {
    const token = await issuer.mint({ scopes: ['Todo.Read'], audience: 'api://another-api' })
    const { client, transport, exchanges } = clientWith(token)
    await assert.rejects(client.connect(transport))
    assert.equal(exchanges[0]?.status, 401)
    assert.equal(exchanges[0]?.challenge, 'Bearer error="invalid_token", error_description="The token is for another application (aud): ' +
      `request a token for this API's scope instead", scope="${resource}/Todo.Read", resource_metadata="${metadataUrl}"`)
    assert.deepEqual(JSON.parse(exchanges[0]?.body ?? ''), {
      error: 'invalid_token', error_description: 'The token is for another application (aud): request a token for this API\'s scope instead'
    })
  })

  it('refuses a valid token without the scope 403 insufficient_scope, naming the full scope to ask Entra for', async () => {
    const token = await issuer.mint({ scopes: ['Todo.Write'] })
    const { client, transport, exchanges } = clientWith(token)
    await assert.rejects(client.connect(transport))
    assert.equal(exchanges[0]?.status, 403)
    assert.equal(exchanges[0]?.challenge,
      `Bearer error="insufficient_scope", error_description="Insufficient scope", scope="${resource}/Todo.Read", resource_metadata="${metadataUrl}"`)
  })

  it('refuses a request without a token 401 with resource_metadata, and serves the metadata it names', async () => {
    const refused = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' })
    assert.equal(refused.status, 401)
    assert.equal(refused.headers.get('www-authenticate'),
      `Bearer error="invalid_token", error_description="Missing Authorization header", scope="${resource}/Todo.Read", resource_metadata="${metadataUrl}"`)
    const metadata = await fetch(new URL('/.well-known/oauth-protected-resource/mcp', url))
    assert.equal(metadata.status, 200)
    assert.deepEqual(await metadata.json(), {
      resource,
      authorization_servers: [issuer.issuer(2)],
      scopes_supported: [`${resource}/Todo.Read`],
      bearer_methods_supported: ['header'],
      resource_name: 'Todo MCP server'
    })
  })
})

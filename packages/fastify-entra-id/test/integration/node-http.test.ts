import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { EntraTokenVerifier } from '../../src/core/index.js'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'

type CreateApi = (verifier: EntraTokenVerifier, realm?: string) => Server

// The repository's docs page for servers without Fastify: the npm README links to it, and it holds the example.
const GUIDE = fileURLToPath(new URL('../../../../docs/how-to/without-fastify.md', import.meta.url))
const source = (file: string): string => pathToFileURL(fileURLToPath(new URL(`../../src/${file}`, import.meta.url))).href

/** The guide's `node:http` example, as written there, with the package imports pointed at this source tree. */
async function loadExample(dir: string): Promise<CreateApi> {
  const guide = await readFile(GUIDE, 'utf8')
  const block = /<!-- node-http-example[^>]*-->\n```ts\n([\s\S]*?)\n```/.exec(guide)?.[1]
  assert.ok(block !== undefined, 'docs/how-to/without-fastify.md has the node:http example')
  // .mts: an ES module wherever it is written, so it shares this test's module instances (EntraAuthError).
  const file = join(dir, 'node-http-example.mts')
  await writeFile(file, block
    .replaceAll('\'fastify-entra-id/core\'', `'${source('core/index.ts')}'`))
  return ((await import(pathToFileURL(file).href)) as { createApi: CreateApi }).createApi
}

describe('the plain node:http example of docs/how-to/without-fastify.md', () => {
  let issuer: TestIssuer
  let dir: string
  let createApi: CreateApi
  let verifier: EntraTokenVerifier
  const servers: Server[] = []
  // The verifier's clock stands still, so a refusal that counts seconds (an expired token's) reads the same each run.
  const started = Date.now()

  before(async () => {
    // The example first: if the docs lost it, this fails before anything listens, and the run ends.
    dir = await mkdtemp(join(tmpdir(), 'entra-node-http-'))
    createApi = await loadExample(dir)
    issuer = await startTestIssuer()
    verifier = EntraTokenVerifier.create({ tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, clock: () => started })
    await verifier.hydrate()
  })
  after(async () => {
    for (const server of servers) server.close()
    // Unset when before() stopped at the example.
    verifier?.close()
    await issuer?.close()
    await rm(dir, { recursive: true, force: true })
  })

  async function listen(realm?: string): Promise<string> {
    const server = createApi(verifier, realm)
    servers.push(server)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  }

  it('answers a valid token with the caller, and refuses others with the RFC 6750 challenge the server renders', async () => {
    const base = await listen()
    const token = await issuer.mint({ scopes: ['Todo.Read'], claims: { oid: 'alice-oid' } })
    const ok = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${token}` } })
    assert.equal(ok.status, 200)
    assert.deepEqual(await ok.json(), { objectId: 'alice-oid', scopes: ['Todo.Read'] })

    const missing = await fetch(`${base}/me`)
    assert.equal(missing.status, 401)
    assert.equal(missing.headers.get('www-authenticate'), 'Bearer realm="api"')
    assert.equal(((await missing.json()) as { code: string }).code, 'ENTRA_TOKEN_MISSING')

    const expired = await issuer.mint({ scopes: ['Todo.Read'], now: Math.floor(started / 1000), expiresIn: -3600 })
    const refused = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${expired}` } })
    assert.equal(refused.status, 401)
    assert.equal(refused.headers.get('www-authenticate'),
      'Bearer realm="api", error="invalid_token", error_description="The token expired 3600 s ago: request a new token (if it was just issued, a clock is wrong)"')

    const inQuery = await fetch(`${base}/me?access_token=${token}`, { headers: { authorization: `Bearer ${token}` } })
    assert.equal(inQuery.status, 400)
  })

  it('renders the verifier\'s refusals in the server\'s own realm', async () => {
    const base = await listen('todo-api')
    const [header, payload] = (await issuer.mint({ scopes: ['Todo.Read'] })).split('.') as [string, string, string]
    const forged = await fetch(`${base}/me`, { headers: { authorization: `Bearer ${header}.${payload}.AAAA` } })
    assert.equal(forged.status, 401)
    assert.equal(forged.headers.get('www-authenticate'), 'Bearer realm="todo-api", error="invalid_token", error_description="The token signature is invalid"')
  })
})

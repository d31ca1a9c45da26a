import { describe, it } from 'node:test'
import type { TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createPublicKey } from 'node:crypto'
import { mkdtemp, rename, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import type { AddressInfo, Server } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { EntraTokenVerifier, InvalidTokenError } from '../../src/core/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { bearer, buildApp, withIssuer } from '../helpers.js'

const READ = { scopes: ['Todo.Read'] }

/**
 * A TCP listener on loopback standing where the identity provider would be: it counts connections and answers
 * none. Offline, it must count zero.
 */
async function unreachableProvider(t: TestContext): Promise<{ url: string, connections: () => number }> {
  let connections = 0
  const server: Server = createServer((socket) => { connections++; socket.destroy() })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, connections: () => connections }
}

/** A temporary directory, removed after the test. */
async function tempDir(t: TestContext): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'entra-offline-keys-'))
  t.after(() => rm(dir, { recursive: true, force: true }))
  return dir
}

/** Replaces `path` atomically with `content`, as a deployment that swaps a key file does. */
async function replaceFile(path: string, content: string): Promise<void> {
  await writeFile(`${path}.next`, content)
  await rename(`${path}.next`, path)
}

/** The issuer's public key `kid` as PEM, with the `kid:` line that names it. */
function publicPem(issuer: TestIssuer, kid: string): string {
  const jwk = issuer.jwks().keys.find((key) => key.kid === kid)
  assert.ok(jwk !== undefined)
  const pem = createPublicKey({ key: { kty: 'RSA', n: jwk.n as string, e: jwk.e as string }, format: 'jwk' }).export({ type: 'spki', format: 'pem' })
  return `kid: ${kid}\n${pem as string}`
}

function freezeDate(t: TestContext): { advance: (ms: number) => void } {
  t.mock.timers.enable({ apis: ['Date'], now: Date.now() })
  return { advance: (ms) => { t.mock.timers.setTime(Date.now() + ms) } }
}

describe('signing keys given in the options (no discovery)', () => {
  it('verifies tokens signed with the keys of a JWKS file, with no connection to the identity provider', (t) => withIssuer(async (issuer) => {
    const provider = await unreachableProvider(t)
    const file = join(await tempDir(t), 'keys.json')
    await writeFile(file, JSON.stringify(issuer.jwks()))
    const app = await buildApp(issuer, { authorityHost: provider.url, signingKeys: { issuer: issuer.issuer(2), file } })
    try {
      await app.ready()
      assert.equal(app.entraId.isReady(), true)
      const response = await app.inject({ url: '/me', headers: bearer(await issuer.mint(READ)) })
      assert.equal(response.statusCode, 200)
      assert.equal(response.json<{ tenantId: string }>().tenantId, issuer.tenantId)
      assert.equal(provider.connections(), 0)
      assert.equal(issuer.count(), 0)
    } finally {
      await app.close()
    }
  }))

  it('refuses a token signed with another key, and one from another issuer', (t) => withIssuer(async (issuer) => {
    const provider = await unreachableProvider(t)
    const app = await buildApp(issuer, { authorityHost: provider.url, signingKeys: { issuer: issuer.issuer(2), keys: issuer.jwks() } })
    try {
      const otherIssuer = await app.inject({ url: '/me', headers: bearer(await issuer.mint({ ...READ, claims: { iss: 'https://login.microsoftonline.com/' + issuer.tenantId + '/v2.0' } })) })
      assert.equal(otherIssuer.statusCode, 401)
      assert.match(otherIssuer.headers['www-authenticate'] as string, /error="invalid_token"/)
      assert.equal(otherIssuer.json<{ code: string }>().code, 'ENTRA_TOKEN_INVALID_ISSUER')
      await issuer.rotateKeys()
      const otherKey = await app.inject({ url: '/me', headers: bearer(await issuer.mint(READ)) })
      assert.equal(otherKey.statusCode, 401)
      assert.equal(otherKey.json<{ code: string }>().code, 'ENTRA_TOKEN_UNKNOWN_KEY')
      // A v1.0 token: no v1 issuer was given, so only v2.0 tokens are accepted.
      assert.equal(app.entraId.verifier.options.tokenVersions.has(1), false)
      assert.equal(provider.connections(), 0)
    } finally {
      await app.close()
    }
  }))

  it('verifies with PEM keys in the framework-free core, the kid named above each block', (t) => withIssuer(async (issuer) => {
    const provider = await unreachableProvider(t)
    const verifier = EntraTokenVerifier.create({
      tenantId: issuer.tenantId,
      clientId: issuer.clientId,
      authorityHost: provider.url,
      tokenVersions: [1, 2],
      signingKeys: { issuer: issuer.issuer(2), v1Issuer: issuer.issuer(1), keys: publicPem(issuer, issuer.signingKid) }
    })
    try {
      assert.equal((await verifier.verify(await issuer.mint(READ))).tokenVersion, 2)
      assert.equal((await verifier.verify(await issuer.mint({ ...READ, version: 1 }))).tokenVersion, 1)
      await assert.rejects(async () => verifier.verify(await issuer.mint({ ...READ, claims: { aud: 'api://another-api' } })),
        (error: unknown) => error instanceof InvalidTokenError)
      assert.equal(provider.connections(), 0)
    } finally {
      verifier.close()
    }
  }))

  it('picks up a replaced key file within fileCheckInterval, and stops accepting the removed key', (t) => withIssuer(async (issuer) => {
    const provider = await unreachableProvider(t)
    const file = join(await tempDir(t), 'keys.json')
    await writeFile(file, JSON.stringify(issuer.jwks()))
    const oldToken = await issuer.mint(READ)
    const clock = freezeDate(t)
    const app = await buildApp(issuer, {
      authorityHost: provider.url,
      signingKeys: { issuer: issuer.issuer(2), file, fileCheckInterval: 5000 }
    })
    try {
      await app.ready()
      for (let i = 0; i < 2; i++) assert.equal((await app.inject({ url: '/me', headers: bearer(oldToken) })).statusCode, 200)
      const newKid = await issuer.rotateKeys()
      await replaceFile(file, JSON.stringify({ keys: issuer.jwks().keys.filter((key) => key.kid === newKid) }))
      const newToken = await issuer.mint(READ)

      clock.advance(1000)
      const early = await app.inject({ url: '/me', headers: bearer(newToken) })
      assert.equal(early.statusCode, 401, 'the file is not read again before fileCheckInterval')

      clock.advance(4000)
      assert.equal((await app.inject({ url: '/me', headers: bearer(newToken) })).statusCode, 200)
      // The old key left the file: its token is refused, though the token cache held it.
      const old = await app.inject({ url: '/me', headers: bearer(oldToken) })
      assert.equal(old.statusCode, 401)
      assert.equal(provider.connections(), 0)
    } finally {
      await app.close()
    }
  }))
})

import assert from 'node:assert/strict'
import { after, before, describe, mock, test } from 'node:test'
import { startTestIssuer } from 'fastify-entra-id/testing'
import type { TestIssuer } from 'fastify-entra-id/testing'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { RevokeUsageError, runRevoke } from '../../src/store/revoke-command.js'
import { Callers, ENGINES, bearer, envFor, startHarness, tempDir } from '../helpers/app.js'
import { postgresUrl } from '../helpers/postgres.js'
import { StoreUnavailableError } from '../../src/store/store.js'
import type { TodoStore } from '../../src/store/store.js'

describe('npm run revoke: the operator\'s deny-list', () => {
  let issuer: TestIssuer
  let app: FastifyInstance
  let dir: ReturnType<typeof tempDir>
  let callers: Callers
  before(async () => {
    issuer = await startTestIssuer()
    callers = new Callers(issuer)
    dir = tempDir()
    // No store given: the service opens DATA_DIR/todos.sqlite, the file the command writes.
    app = await buildApp({ env: envFor(issuer, dir.path, { AUTH_REVOCATION_MAX_AGE_MS: '30000' }) })
  })
  after(async () => {
    await app.close()
    await issuer.close()
    dir.remove()
  })

  const me = async (token: string) => {
    const res = await app.inject({ url: '/api/me', headers: bearer(token) })
    return { status: res.statusCode, code: res.json<{ code?: string }>().code }
  }

  test('revokes a user: the next request after AUTH_REVOCATION_MAX_AGE_MS is 401 ENTRA_TOKEN_REVOKED, tokens in the token cache included', async () => {
    mock.timers.enable({ apis: ['Date'], now: Date.now() })
    try {
      const alice = await callers.user(callers.alice, ['Todo.Read'])
      const bob = await callers.user(callers.bob, ['Todo.Read'])
      // Three uses: the token is in the token cache, and its "not revoked" answer is cached.
      for (let i = 0; i < 3; i++) assert.equal((await me(alice)).status, 200)
      assert.equal(app.entraId.verifier.cachedTokens, 1)

      const printed = await runRevoke(['--oid', callers.alice, '--reason', 'offboarded'], { DATA_DIR: dir.path })
      assert.match(printed, /^revoked oid 11111111-/)

      mock.timers.tick(29_999)
      assert.deepEqual(await me(alice), { status: 200, code: undefined }, 'within the bound: the cached answer')
      mock.timers.tick(1)
      assert.deepEqual(await me(alice), { status: 401, code: 'ENTRA_TOKEN_REVOKED' })
      assert.deepEqual(await me(await callers.user(callers.alice, ['Todo.Read'])), { status: 401, code: 'ENTRA_TOKEN_REVOKED' },
        'a new token of the user is refused at once: its answer was not cached')
      assert.equal((await me(bob)).status, 200, 'others are not concerned')
    } finally {
      mock.timers.reset()
    }
  })

  test('revokes one leaked token by its uti, and a client application by its ID', async () => {
    const leaked = await callers.user(callers.bob, ['Todo.Read'])
    const uti = JSON.parse(Buffer.from(leaked.split('.')[1] ?? '', 'base64url').toString()) as { uti: string }
    await runRevoke(['--uti', uti.uti], { DATA_DIR: dir.path })
    assert.deepEqual(await me(leaked), { status: 401, code: 'ENTRA_TOKEN_REVOKED' })
    assert.equal((await me(await callers.user(callers.bob, ['Todo.Read']))).status, 200, 'the user\'s other tokens still pass')
    const other = '44444444-4444-4444-8444-444444444444'
    await runRevoke(['--client', other], { DATA_DIR: dir.path })
    assert.deepEqual(await me(await issuer.mint({ objectId: callers.bob, scopes: ['Todo.Read'], clientAppId: other })), { status: 401, code: 'ENTRA_TOKEN_REVOKED' })
  })

  test('refuses a command without exactly one identifier, with the help', async () => {
    await assert.rejects(runRevoke([], { DATA_DIR: dir.path }), RevokeUsageError)
    await assert.rejects(runRevoke(['--oid', 'a', '--uti', 'b'], { DATA_DIR: dir.path }), RevokeUsageError)
    await assert.rejects(runRevoke(['--user', 'a'], { DATA_DIR: dir.path }), RevokeUsageError)
    assert.match(await runRevoke(['--help'], {}), /^Usage: npm run revoke/)
  })
})

for (const engine of ENGINES) {
  describe(`the revoked_callers table (${engine})`, { skip: engine === 'postgres' && postgresUrl() === undefined ? 'TEST_DATABASE_URL is not set' : false }, () => {
    test('a listed identifier of any kind revokes the token; listing twice is harmless', async () => {
      const h = await startHarness(engine)
      try {
        const token = await h.callers.user(h.callers.alice, ['Todo.Read'])
        const ok = await h.app.inject({ url: '/api/me', headers: bearer(token) })
        assert.equal(ok.statusCode, 200)
        await h.store.revoke?.('tid', h.issuer.tenantId, 'tenant offboarded')
        await h.store.revoke?.('tid', h.issuer.tenantId)
        const fresh = await h.callers.user(h.callers.bob, ['Todo.Read'])
        const res = await h.app.inject({ url: '/api/me', headers: bearer(fresh) })
        assert.equal(res.statusCode, 401)
        assert.equal(res.json<{ code: string }>().code, 'ENTRA_TOKEN_REVOKED')
      } finally {
        await h.close()
      }
    })
  })
}

describe('a deny-list that cannot be read', () => {
  test('answers 503 ENTRA_REVOCATION_CHECK_FAILED with Retry-After, never an accepted token', async () => {
    const issuer = await startTestIssuer()
    const dir = tempDir()
    const unavailable = (): Promise<never> => Promise.reject(new StoreUnavailableError())
    // The database is down: the deny-list read fails as every other store call would.
    const down: TodoStore = {
      engine: 'sqlite', list: unavailable, get: unavailable, create: unavailable, update: unavailable, delete: unavailable,
      ping: unavailable, isRevoked: unavailable, close: () => Promise.resolve()
    }
    const app = await buildApp({ env: envFor(issuer, dir.path), store: down })
    try {
      const res = await app.inject({ url: '/api/me', headers: bearer(await new Callers(issuer).user(new Callers(issuer).alice, ['Todo.Read'])) })
      assert.equal(res.statusCode, 503)
      assert.equal(res.json<{ code: string }>().code, 'ENTRA_REVOCATION_CHECK_FAILED')
      assert.equal(res.headers['retry-after'], '5')
    } finally {
      await app.close()
      await issuer.close()
      dir.remove()
    }
  })
})

import assert from 'node:assert/strict'
import { after, before, describe, test } from 'node:test'
import { startTestIssuer } from 'fastify-entra-id/testing'
import { buildApp } from '../../src/app.js'
import { ENGINES, bearer, envFor, openTestStore, startHarness, tempDir } from '../helpers/app.js'
import type { Harness } from '../helpers/app.js'
import { skipWithoutPostgres } from '../helpers/postgres.js'

interface TodoBody { id: string, title: string, done: boolean, createdAt: string, updatedAt: string, owner: { tid: string, oid: string } }
interface PageBody { items: TodoBody[], nextCursor: string | null }
interface ErrorBody { statusCode: number, code?: string, error: string, message: string }

for (const engine of ENGINES) {
  describe(`todo routes (${engine})`, { skip: engine === 'postgres' ? skipWithoutPostgres() : false }, () => {
    let h: Harness
    before(async () => { h = await startHarness(engine) })
    after(async () => { await h.close() })

    async function create(user: string, title: string, done?: boolean): Promise<TodoBody> {
      const res = await h.app.inject({
        method: 'POST', url: '/api/todos',
        headers: bearer(await h.callers.user(user, ['Todo.Write'])),
        payload: done === undefined ? { title } : { title, done }
      })
      assert.equal(res.statusCode, 201, res.body)
      return res.json()
    }

    describe('a user with the scopes', () => {
      test('creates a todo: 201, the todo, and a Location that reads it back', async () => {
        const res = await h.app.inject({
          method: 'POST', url: '/api/todos',
          headers: bearer(await h.callers.user(h.callers.alice, ['Todo.Write'])),
          payload: { title: 'Buy milk' }
        })
        assert.equal(res.statusCode, 201)
        const todo = res.json<TodoBody>()
        assert.equal(todo.title, 'Buy milk')
        assert.equal(todo.done, false)
        assert.deepEqual(todo.owner, { tid: h.issuer.tenantId, oid: h.callers.alice })
        assert.equal(todo.createdAt, todo.updatedAt)
        assert.equal(res.headers.location, `/api/todos/${todo.id}`)

        const read = await h.app.inject({ url: res.headers.location, headers: bearer(await h.callers.user(h.callers.alice, ['Todo.Read'])) })
        assert.equal(read.statusCode, 200)
        assert.deepEqual(read.json(), todo)
      })

      test('lists only their own todos', async () => {
        const mine = await create(h.callers.alice, 'Alice only')
        const theirs = await create(h.callers.bob, 'Bob only')
        const res = await h.app.inject({ url: '/api/todos?limit=100', headers: bearer(await h.callers.user(h.callers.alice, ['Todo.Read'])) })
        assert.equal(res.statusCode, 200)
        const ids = res.json<PageBody>().items.map((t) => t.id)
        assert.ok(ids.includes(mine.id))
        assert.ok(!ids.includes(theirs.id))
        assert.ok(res.json<PageBody>().items.every((t) => t.owner.oid === h.callers.alice))
      })

      test('changes a todo with PATCH: only the fields given', async () => {
        const todo = await create(h.callers.alice, 'Old title')
        const token = await h.callers.user(h.callers.alice, ['Todo.Write'])
        const done = await h.app.inject({ method: 'PATCH', url: `/api/todos/${todo.id}`, headers: bearer(token), payload: { done: true } })
        assert.equal(done.statusCode, 200)
        assert.equal(done.json<TodoBody>().done, true)
        assert.equal(done.json<TodoBody>().title, 'Old title')
        const renamed = await h.app.inject({ method: 'PATCH', url: `/api/todos/${todo.id}`, headers: bearer(token), payload: { title: 'New title' } })
        assert.equal(renamed.json<TodoBody>().title, 'New title')
        assert.equal(renamed.json<TodoBody>().done, true)
        assert.equal(renamed.json<TodoBody>().createdAt, todo.createdAt)
        assert.ok(renamed.json<TodoBody>().updatedAt >= todo.updatedAt)
      })

      test('deletes a todo: 204, then 404 for reading or deleting it again', async () => {
        const todo = await create(h.callers.alice, 'Short-lived')
        const write = await h.callers.user(h.callers.alice, ['Todo.Read', 'Todo.Write'])
        const res = await h.app.inject({ method: 'DELETE', url: `/api/todos/${todo.id}`, headers: bearer(write) })
        assert.equal(res.statusCode, 204)
        assert.equal(res.body, '')
        assert.equal((await h.app.inject({ url: `/api/todos/${todo.id}`, headers: bearer(write) })).statusCode, 404)
        assert.equal((await h.app.inject({ method: 'DELETE', url: `/api/todos/${todo.id}`, headers: bearer(write) })).statusCode, 404)
      })

      test('answers 404 for a todo that does not exist', async () => {
        const res = await h.app.inject({
          url: '/api/todos/00000000-0000-4000-8000-000000000000',
          headers: bearer(await h.callers.user(h.callers.alice, ['Todo.Read']))
        })
        assert.equal(res.statusCode, 404)
        assert.equal(res.json<ErrorBody>().code, 'TODO_NOT_FOUND')
      })
    })

    describe('user isolation', () => {
      test('another user cannot read, change or delete a todo, and learns nothing of it (404)', async () => {
        const todo = await create(h.callers.alice, 'Private')
        const bob = await h.callers.user(h.callers.bob, ['Todo.Read', 'Todo.Write'])
        const notFound = { statusCode: 404, code: 'TODO_NOT_FOUND', error: 'Not Found', message: 'Todo not found' }
        const read = await h.app.inject({ url: `/api/todos/${todo.id}`, headers: bearer(bob) })
        assert.deepEqual([read.statusCode, read.json()], [404, notFound])
        const patch = await h.app.inject({ method: 'PATCH', url: `/api/todos/${todo.id}`, headers: bearer(bob), payload: { title: 'Hacked', done: true } })
        assert.deepEqual([patch.statusCode, patch.json()], [404, notFound])
        const del = await h.app.inject({ method: 'DELETE', url: `/api/todos/${todo.id}`, headers: bearer(bob) })
        assert.deepEqual([del.statusCode, del.json()], [404, notFound])

        const still = await h.app.inject({ url: `/api/todos/${todo.id}`, headers: bearer(await h.callers.user(h.callers.alice, ['Todo.Read'])) })
        assert.equal(still.statusCode, 200)
        assert.deepEqual(still.json(), todo)
      })

      test('a user may not list todos by owner (403)', async () => {
        const res = await h.app.inject({
          url: `/api/todos?owner=${h.callers.bob}`,
          headers: bearer(await h.callers.user(h.callers.alice, ['Todo.Read']))
        })
        assert.equal(res.statusCode, 403)
        assert.match(String(res.headers['www-authenticate']), /error="insufficient_scope".*scope="Todo\.Read\.All"/)
      })
    })

    describe('scopes and roles', () => {
      test('refuses a request without a token: 401 with a bare Bearer challenge', async () => {
        const res = await h.app.inject({ url: '/api/todos' })
        assert.equal(res.statusCode, 401)
        assert.equal(res.headers['www-authenticate'], 'Bearer realm="api"')
      })

      test('refuses a token for another API: 401 invalid_token', async () => {
        const token = await h.issuer.mint({ scopes: ['Todo.Read'], audience: '99999999-9999-4999-8999-999999999999' })
        const res = await h.app.inject({ url: '/api/todos', headers: bearer(token) })
        assert.equal(res.statusCode, 401)
        assert.match(String(res.headers['www-authenticate']), /^Bearer realm="api", error="invalid_token"/)
      })

      test('refuses to create with a read-only token: 403 naming Todo.Write, and creates nothing', async () => {
        const before = await h.app.inject({ url: '/api/todos?limit=100', headers: bearer(await h.callers.user(h.callers.bob, ['Todo.Read'])) })
        const res = await h.app.inject({
          method: 'POST', url: '/api/todos',
          headers: bearer(await h.callers.user(h.callers.bob, ['Todo.Read'])),
          payload: { title: 'Not allowed' }
        })
        assert.equal(res.statusCode, 403)
        assert.equal(res.headers['www-authenticate'],
          'Bearer realm="api", error="insufficient_scope", error_description="The token lacks the required scope: Todo.Write", scope="Todo.Write"')
        const afterwards = await h.app.inject({ url: '/api/todos?limit=100', headers: bearer(await h.callers.user(h.callers.bob, ['Todo.Read'])) })
        assert.deepEqual(afterwards.json(), before.json())
      })

      test('refuses to list, read, change or delete with the wrong scope (403)', async () => {
        const todo = await create(h.callers.alice, 'Scope check')
        const writeOnly = await h.callers.user(h.callers.alice, ['Todo.Write'])
        const readOnly = await h.callers.user(h.callers.alice, ['Todo.Read'])
        assert.equal((await h.app.inject({ url: '/api/todos', headers: bearer(writeOnly) })).statusCode, 403)
        assert.equal((await h.app.inject({ url: `/api/todos/${todo.id}`, headers: bearer(writeOnly) })).statusCode, 403)
        assert.equal((await h.app.inject({ method: 'PATCH', url: `/api/todos/${todo.id}`, headers: bearer(readOnly), payload: { done: true } })).statusCode, 403)
        assert.equal((await h.app.inject({ method: 'DELETE', url: `/api/todos/${todo.id}`, headers: bearer(readOnly) })).statusCode, 403)
      })

      test('a user holding only the app role (no scope) is refused: delegated callers need the scope', async () => {
        const res = await h.app.inject({ url: '/api/todos', headers: bearer(await h.callers.user(h.callers.alice, [], { roles: ['Todo.Read.All'] })) })
        assert.equal(res.statusCode, 403)
      })
    })

    describe('applications (app-only tokens)', () => {
      test('with Todo.Read.All, list every user\'s todos, and filter by ?owner=', async () => {
        const a = await create(h.callers.alice, 'For the app: Alice')
        const b = await create(h.callers.bob, 'For the app: Bob')
        const token = await h.callers.app(['Todo.Read.All'])
        const all = await h.app.inject({ url: '/api/todos?limit=100', headers: bearer(token) })
        assert.equal(all.statusCode, 200)
        const ids = all.json<PageBody>().items.map((t) => t.id)
        assert.ok(ids.includes(a.id) && ids.includes(b.id))

        const bobs = await h.app.inject({ url: `/api/todos?limit=100&owner=${h.callers.bob}`, headers: bearer(token) })
        assert.equal(bobs.statusCode, 200)
        assert.ok(bobs.json<PageBody>().items.length > 0)
        assert.ok(bobs.json<PageBody>().items.every((t) => t.owner.oid === h.callers.bob))

        const one = await h.app.inject({ url: `/api/todos/${a.id}`, headers: bearer(token) })
        assert.deepEqual(one.json(), a)
      })

      test('with Todo.Write.All, change and delete any user\'s todo', async () => {
        const todo = await create(h.callers.alice, 'Cleaned up by the app')
        const token = await h.callers.app(['Todo.Write.All'])
        const patch = await h.app.inject({ method: 'PATCH', url: `/api/todos/${todo.id}`, headers: bearer(token), payload: { done: true } })
        assert.equal(patch.statusCode, 200)
        assert.equal(patch.json<TodoBody>().done, true)
        assert.deepEqual(patch.json<TodoBody>().owner, todo.owner)
        const del = await h.app.inject({ method: 'DELETE', url: `/api/todos/${todo.id}`, headers: bearer(token) })
        assert.equal(del.statusCode, 204)
      })

      test('with Todo.Write.All, creates todos owned by the application itself', async () => {
        const res = await h.app.inject({ method: 'POST', url: '/api/todos', headers: bearer(await h.callers.app(['Todo.Write.All'])), payload: { title: 'From a daemon' } })
        assert.equal(res.statusCode, 201)
        assert.deepEqual(res.json<TodoBody>().owner, { tid: h.issuer.tenantId, oid: h.callers.daemon })
      })

      test('without the role, is refused (403), even for reading', async () => {
        const token = await h.callers.app(['Something.Else'])
        const res = await h.app.inject({ url: '/api/todos', headers: bearer(token) })
        assert.equal(res.statusCode, 403)
        assert.match(String(res.headers['www-authenticate']), /scope="Todo\.Read\.All"/)
        const readRoleWrites = await h.app.inject({ method: 'POST', url: '/api/todos', headers: bearer(await h.callers.app(['Todo.Read.All'])), payload: { title: 'x' } })
        assert.equal(readRoleWrites.statusCode, 403)
      })
    })

    describe('validation', () => {
      const cases: [string, string, string, unknown, RegExp][] = [
        ['an empty title', 'POST', '/api/todos', { title: '' }, /body\/title must not have fewer than 1 characters/],
        ['a blank title', 'POST', '/api/todos', { title: '   ' }, /body\/title must match pattern/],
        ['a title of 201 characters', 'POST', '/api/todos', { title: 'x'.repeat(201) }, /body\/title must not have more than 200 characters/],
        ['a missing title', 'POST', '/api/todos', { done: true }, /body must have required properties title|title/],
        ['an unknown field', 'POST', '/api/todos', { title: 'ok', color: 'red' }, /^body has unknown property "color"$/],
        ['done as a string', 'POST', '/api/todos', { title: 'ok', done: 'true' }, /body\/done must be boolean/],
        ['an array body', 'POST', '/api/todos', [{ title: 'ok' }], /body must be object/],
        ['an empty PATCH', 'PATCH', '/api/todos/00000000-0000-4000-8000-000000000000', {}, /body must not have fewer than 1 properties|properties/],
        ['a PATCH with an unknown field', 'PATCH', '/api/todos/00000000-0000-4000-8000-000000000000', { owner: 'me' }, /unknown property "owner"/],
        ['an ID that is not a UUID', 'GET', '/api/todos/42', undefined, /params\/id must match format "uuid"/],
        ['limit 0', 'GET', '/api/todos?limit=0', undefined, /querystring\/limit must be >= 1/],
        ['limit above the cap', 'GET', '/api/todos?limit=101', undefined, /querystring\/limit must be <= 100/],
        ['a non-numeric limit', 'GET', '/api/todos?limit=ten', undefined, /querystring\/limit must be integer/],
        ['a negative offset', 'GET', '/api/todos?offset=-1', undefined, /querystring\/offset must be >= 0/],
        ['a forged cursor', 'GET', '/api/todos?cursor=bm90LWEtY3Vyc29y', undefined, /cursor is not a cursor given by this API/],
        ['both cursor and offset', 'GET', `/api/todos?offset=1&cursor=${Buffer.from(JSON.stringify(['2024-01-01T00:00:00.000Z', '00000000-0000-4000-8000-000000000000'])).toString('base64url')}`, undefined, /either cursor or offset/],
        ['an unknown query parameter', 'GET', '/api/todos?sort=title', undefined, /querystring has unknown property "sort"/],
        ['an owner that is not a UUID', 'GET', '/api/todos?owner=alice', undefined, /querystring\/owner must match format "uuid"/]
      ]
      for (const [name, method, url, payload, message] of cases) {
        test(`answers 400 with a clear message for ${name}`, async () => {
          const res = await h.app.inject({
            method: method as 'GET', url,
            headers: bearer(await h.callers.user(h.callers.alice, ['Todo.Read', 'Todo.Write'])),
            ...(payload === undefined ? {} : { payload: payload as object })
          })
          assert.equal(res.statusCode, 400, res.body)
          assert.match(res.json<ErrorBody>().message, message)
        })
      }

      test('answers 400 for malformed JSON and 415 for a body that is not JSON', async () => {
        const token = await h.callers.user(h.callers.alice, ['Todo.Write'])
        const bad = await h.app.inject({ method: 'POST', url: '/api/todos', headers: { ...bearer(token), 'content-type': 'application/json' }, payload: '{"title":' })
        assert.equal(bad.statusCode, 400)
        for (const type of ['application/xml', 'text/plain', 'application/x-www-form-urlencoded']) {
          const other = await h.app.inject({ method: 'POST', url: '/api/todos', headers: { ...bearer(token), 'content-type': type }, payload: 'title=x' })
          assert.equal(other.statusCode, 415, type)
        }
      })

      test('accepts a title of exactly 200 characters, kept as sent', async () => {
        const todo = await create(h.callers.alice, `  ${'y'.repeat(196)}  `)
        assert.equal(todo.title.length, 200)
      })
    })

    describe('pagination', () => {
      const carol = '44444444-4444-4444-8444-444444444444'
      let created: TodoBody[] = []
      let token = ''
      before(async () => {
        created = []
        for (let i = 1; i <= 5; i++) created.push(await create(carol, `Item ${i}`))
        token = await h.callers.user(carol, ['Todo.Read'])
      })

      test('walks every todo once, oldest first, following nextCursor', async () => {
        const seen: string[] = []
        let url = '/api/todos?limit=2'
        const sizes: number[] = []
        for (;;) {
          const res = await h.app.inject({ url, headers: bearer(token) })
          assert.equal(res.statusCode, 200)
          const page = res.json<PageBody>()
          sizes.push(page.items.length)
          seen.push(...page.items.map((t) => t.id))
          if (page.nextCursor === null) break
          url = `/api/todos?limit=2&cursor=${encodeURIComponent(page.nextCursor)}`
        }
        assert.deepEqual(sizes, [2, 2, 1])
        const expected = [...created].sort((x, y) => x.createdAt.localeCompare(y.createdAt) || x.id.localeCompare(y.id)).map((t) => t.id)
        assert.deepEqual(seen, expected)
      })

      test('skips with offset', async () => {
        const all = (await h.app.inject({ url: '/api/todos?limit=100', headers: bearer(token) })).json<PageBody>()
        const res = await h.app.inject({ url: '/api/todos?offset=3&limit=10', headers: bearer(token) })
        assert.deepEqual(res.json<PageBody>().items, all.items.slice(3))
        assert.equal(res.json<PageBody>().nextCursor, null)
        assert.equal(all.items.length, 5)
      })

      test('defaults to 20 per page', async () => {
        const dave = '55555555-5555-4555-8555-555555555555'
        for (let i = 0; i < 21; i++) await create(dave, `Many ${i}`)
        const res = await h.app.inject({ url: '/api/todos', headers: bearer(await h.callers.user(dave, ['Todo.Read'])) })
        assert.equal(res.json<PageBody>().items.length, 20)
        assert.notEqual(res.json<PageBody>().nextCursor, null)
      })
    })
  })
}

describe('multi-tenant API', () => {
  test('a user of another tenant with the same object ID does not see the todo', async () => {
    const dir = tempDir()
    const issuer = await startTestIssuer()
    const { store, dispose } = await openTestStore('sqlite', dir.path)
    const otherTenant = 'aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa'
    const app = await buildApp({
      env: envFor(issuer, dir.path, { AZURE_TENANT_ID: 'organizations', AUTH_ALLOWED_TENANTS: `${issuer.tenantId}, ${otherTenant}` }),
      store
    })
    try {
      const oid = '66666666-6666-4666-8666-666666666666'
      const created = await app.inject({
        method: 'POST', url: '/api/todos',
        headers: bearer(await issuer.mint({ objectId: oid, scopes: ['Todo.Write'] })),
        payload: { title: 'Tenant A' }
      })
      assert.equal(created.statusCode, 201)
      const id = created.json<TodoBody>().id
      const other = bearer(await issuer.mint({ objectId: oid, tenantId: otherTenant, scopes: ['Todo.Read'] }))
      assert.equal((await app.inject({ url: `/api/todos/${id}`, headers: other })).statusCode, 404)
      assert.deepEqual((await app.inject({ url: '/api/todos', headers: other })).json(), { items: [], nextCursor: null })
      const notAllowed = await issuer.mint({ tenantId: 'bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb', scopes: ['Todo.Read'] })
      const refused = await app.inject({ url: '/api/todos', headers: bearer(notAllowed) })
      assert.equal(refused.statusCode, 401)
      assert.equal(refused.json<{ code: string }>().code, 'ENTRA_TOKEN_TENANT_NOT_ALLOWED')
    } finally {
      await app.close()
      await dispose()
      await issuer.close()
      dir.remove()
    }
  })
})

describe('step-up for deleting (AUTH_DELETE_AUTH_CONTEXT)', () => {
  let h: Harness
  before(async () => { h = await startHarness('sqlite', { AUTH_DELETE_AUTH_CONTEXT: 'c1' }) })
  after(async () => { await h.close() })

  async function created(): Promise<string> {
    const res = await h.app.inject({
      method: 'POST', url: '/api/todos', headers: bearer(await h.callers.user(h.callers.alice, ['Todo.Write'])), payload: { title: 'Sensitive' }
    })
    assert.equal(res.statusCode, 201)
    return res.json<TodoBody>().id
  }
  const remove = async (id: string, token: string) => h.app.inject({ method: 'DELETE', url: `/api/todos/${id}`, headers: bearer(token) })
  const exists = async (id: string) =>
    (await h.app.inject({ url: `/api/todos/${id}`, headers: bearer(await h.callers.user(h.callers.alice, ['Todo.Read'])) })).statusCode === 200

  test('a cp1 client without the context gets a claims challenge, and the todo stays', async () => {
    const id = await created()
    const res = await remove(id, await h.callers.user(h.callers.alice, ['Todo.Write'], { claims: { xms_cc: ['cp1'] } }))
    assert.equal(res.statusCode, 401)
    assert.equal(res.json<ErrorBody>().code, 'ENTRA_INSUFFICIENT_CLAIMS')
    assert.match(String(res.headers['www-authenticate']),
      /^Bearer realm="[^"]+", authorization_uri="[^"]+\/oauth2\/v2\.0\/authorize", error="insufficient_claims", claims="eyJhY2Nlc3NfdG9rZW4iOnsiYWNycyI6eyJlc3NlbnRpYWwiOnRydWUsInZhbHVlIjoiYzEifX19"$/)
    assert.equal(await exists(id), true)
  })

  test('a client without cp1 gets a 403 naming the context', async () => {
    const id = await created()
    const res = await remove(id, await h.callers.user(h.callers.alice, ['Todo.Write']))
    assert.equal(res.statusCode, 403)
    assert.equal(res.json<ErrorBody>().code, 'ENTRA_AUTH_CONTEXT_REQUIRED')
    assert.equal(await exists(id), true)
  })

  test('a user who met the context deletes; an application with Todo.Write.All needs no step-up', async () => {
    const mine = await created()
    assert.equal((await remove(mine, await h.callers.user(h.callers.alice, ['Todo.Write'], { claims: { acrs: ['c1'] } }))).statusCode, 204)
    const other = await created()
    assert.equal((await remove(other, await h.callers.app(['Todo.Write.All']))).statusCode, 204)
    assert.equal(await exists(other), false)
  })

  test('other writes need no step-up', async () => {
    const id = await created()
    const res = await h.app.inject({
      method: 'PATCH', url: `/api/todos/${id}`, headers: bearer(await h.callers.user(h.callers.alice, ['Todo.Write'])), payload: { done: true }
    })
    assert.equal(res.statusCode, 200)
  })
})

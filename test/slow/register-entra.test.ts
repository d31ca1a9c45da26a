import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { describe, test } from 'node:test'
import { tempDir } from '../helpers/app.js'
import { installFakeAz } from '../helpers/fake-az.js'
import type { Application, FakeAz, FakeTenant } from '../helpers/fake-az.js'
import { Child } from '../helpers/process.js'
import { REPO_ROOT } from '../helpers/paths.js'

const SCRIPT = join(REPO_ROOT, 'scripts', 'register-entra.sh')
const AZURE_CLI = '04b07795-8ddb-461a-bbee-02f9e1bf7b46'
const REDIRECT = 'https://todo.example.com/docs/oauth2-redirect.html'

interface Run { code: number | null, stdout: string, stderr: string, printed: Record<string, string> }

/** Runs the script with the fake first on PATH and nothing of ours in the environment. */
async function register(fake: FakeAz, args: readonly string[] = [], env: Record<string, string> = {}): Promise<Run> {
  const child = new Child('bash', [SCRIPT, ...args], {
    cwd: REPO_ROOT,
    env: { PATH: [fake.bin, dirname(process.execPath), '/usr/bin', '/bin'].join(':'), HOME: REPO_ROOT, ENTRA_RETRY_DELAY: '0', ...fake.env, ...env }
  })
  const code = await child.exited
  const printed = Object.fromEntries(child.stdout.split('\n').filter((l) => l !== '').map((l) => {
    const [name = '', ...value] = l.split('=')
    return [name, value.join('=')]
  }))
  return { code, stdout: child.stdout, stderr: child.stderr, printed }
}

function ok(run: Run): Run {
  assert.equal(run.code, 0, `the script failed:\n${run.stderr}`)
  return run
}

function withFake<T>(tenant: Partial<FakeTenant>, body: (fake: FakeAz) => Promise<T>): () => Promise<T> {
  return async () => {
    const dir = tempDir('register-entra-')
    try {
      return await body(installFakeAz(dir.path, tenant))
    } finally {
      dir.remove()
    }
  }
}

const named = (t: FakeTenant, name: string): Application => {
  const app = t.applications.find((a) => a.displayName === name)
  assert.ok(app !== undefined, `${name} is registered`)
  return app
}
const scopeId = (app: Application, value: string): string => {
  const scope = app.api.oauth2PermissionScopes.find((s) => s.value === value)
  assert.ok(scope !== undefined, `${app.displayName} defines ${value}`)
  return scope.id
}
const writes = (fake: FakeAz, from = 0): string[] =>
  fake.calls().slice(from).filter((c) => c.method === 'POST' || c.method === 'PATCH').map((c) => `${c.method ?? ''} ${c.path ?? ''}`)

/** Calls the fake directly, to show that it refuses what Graph refuses (so that the tests above can fail). */
async function graph(fake: FakeAz, method: string, path: string, body?: unknown): Promise<{ code: number | null, stderr: string }> {
  const dir = tempDir('fake-az-body-')
  try {
    const args = ['rest', '--method', method, '--uri', `https://graph.microsoft.com/v1.0${path}`, '--output', 'json']
    if (body !== undefined) {
      const file = join(dir.path, 'body.json')
      writeFileSync(file, JSON.stringify(body))
      args.push('--headers', 'Content-Type=application/json', '--body', `@${file}`)
    }
    const child = new Child(join(fake.bin, 'az'), args, { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', ...fake.env } })
    return { code: await child.exited, stderr: child.stderr }
  } finally {
    dir.remove()
  }
}

// Each case has its own fake tenant: they run side by side.
describe('scripts/register-entra.sh', { concurrency: true }, () => {
  test('registers the API, the Swagger UI client and their service principals, and prints the variables to set', withFake({}, async (fake) => {
    const run = ok(await register(fake, ['--redirect-uri', REDIRECT]))
    const t = fake.tenant()
    const api = named(t, 'todo-api')
    const spa = named(t, 'todo-api-swagger')

    assert.deepEqual(api.identifierUris, [`api://${api.appId}`])
    assert.equal(api.api.requestedAccessTokenVersion, 2)
    assert.deepEqual(api.api.oauth2PermissionScopes.map((s) => [s.value, s.type, s.isEnabled]), [['Todo.Read', 'User', true], ['Todo.Write', 'User', true]])
    assert.deepEqual(api.appRoles.map((r) => [r.value, r.allowedMemberTypes, r.isEnabled]),
      [['Todo.Read.All', ['Application'], true], ['Todo.Write.All', ['Application'], true]])
    const scopes = [scopeId(api, 'Todo.Read'), scopeId(api, 'Todo.Write')]
    assert.deepEqual(api.api.preAuthorizedApplications, [
      { appId: AZURE_CLI, delegatedPermissionIds: scopes },
      { appId: spa.appId, delegatedPermissionIds: scopes }
    ])
    assert.deepEqual(spa.spa.redirectUris, [REDIRECT])
    assert.deepEqual(spa.requiredResourceAccess, [{ resourceAppId: api.appId, resourceAccess: scopes.map((id) => ({ id, type: 'Scope' })) }])
    assert.deepEqual(t.servicePrincipals.map((s) => s.appId).sort(), [api.appId, spa.appId].sort())

    assert.deepEqual(run.printed, { AZURE_TENANT_ID: t.tenantId, AZURE_CLIENT_ID: api.appId, OPENAPI_CLIENT_ID: spa.appId })
    assert.ok(fake.calls().every((c) => c.status >= 0 && c.status < 400), 'no request was refused')
  }))

  test('a second run creates nothing, changes nothing and keeps every scope and role ID', withFake({}, async (fake) => {
    const first = ok(await register(fake, ['--redirect-uri', REDIRECT]))
    const before = fake.tenant()
    const calls = fake.calls().length
    const second = ok(await register(fake, ['--redirect-uri', REDIRECT]))
    assert.deepEqual(writes(fake, calls), [], 'no POST and no PATCH on the second run')
    assert.deepEqual(fake.tenant(), before)
    assert.deepEqual(second.printed, first.printed)
  }))

  test('a rerun repairs drift with PATCHes only, keeping the IDs and what was added by hand', withFake({}, async (fake) => {
    ok(await register(fake, ['--redirect-uri', REDIRECT]))
    const before = named(fake.tenant(), 'todo-api')
    const handMade = { id: '9f3e1c7a-0000-4000-8000-000000000001', value: 'Todo.Admin', type: 'Admin', isEnabled: true, adminConsentDisplayName: 'Admin', adminConsentDescription: 'Administer todos' }
    fake.update((t) => {
      const api = named(t, 'todo-api')
      api.api.requestedAccessTokenVersion = null
      api.api.oauth2PermissionScopes.push(handMade)
      api.api.preAuthorizedApplications = api.api.preAuthorizedApplications.filter((p) => p.appId !== AZURE_CLI)
      named(t, 'todo-api-swagger').spa.redirectUris = ['http://localhost:8080/docs/oauth2-redirect.html']
    })
    const calls = fake.calls().length
    ok(await register(fake, ['--redirect-uri', REDIRECT]))

    assert.ok(writes(fake, calls).every((w) => w.startsWith('PATCH ')), `only PATCHes: ${writes(fake, calls).join(', ')}`)
    const t = fake.tenant()
    const api = named(t, 'todo-api')
    assert.equal(api.api.requestedAccessTokenVersion, 2)
    assert.equal(scopeId(api, 'Todo.Read'), scopeId(before, 'Todo.Read'))
    assert.equal(scopeId(api, 'Todo.Write'), scopeId(before, 'Todo.Write'))
    assert.deepEqual(api.appRoles.map((r) => r.id), before.appRoles.map((r) => r.id))
    assert.ok(api.api.oauth2PermissionScopes.some((s) => s.id === handMade.id), 'a scope added by hand is kept')
    assert.ok(api.api.preAuthorizedApplications.some((p) => p.appId === AZURE_CLI), 'the Azure CLI is pre-authorized again')
    assert.deepEqual(named(t, 'todo-api-swagger').spa.redirectUris, ['http://localhost:8080/docs/oauth2-redirect.html', REDIRECT])
    assert.equal(t.applications.length, 2)
  }))

  test('finds the API by --api-app-id and reuses the scope ID it already has', withFake({}, async (fake) => {
    // A registration made by hand in the portal, under another name, with Todo.Read only.
    fake.update((t) => {
      t.applications.push({
        id: '11111111-1111-4111-8111-111111111111', appId: '22222222-2222-4222-8222-222222222222', displayName: 'Todo API (portal)',
        signInAudience: 'AzureADMyOrg', identifierUris: [],
        api: { acceptMappedClaims: null, knownClientApplications: [], requestedAccessTokenVersion: null, preAuthorizedApplications: [],
          oauth2PermissionScopes: [{ id: '33333333-3333-4333-8333-333333333333', value: 'Todo.Read', type: 'User', isEnabled: true, adminConsentDisplayName: 'Read', adminConsentDescription: 'Read todos' }] },
        appRoles: [], spa: { redirectUris: [] }, requiredResourceAccess: []
      })
    })
    const run = ok(await register(fake, ['--api-app-id', '22222222-2222-4222-8222-222222222222']))
    const t = fake.tenant()
    const api = t.applications.find((a) => a.appId === '22222222-2222-4222-8222-222222222222')
    assert.ok(api !== undefined)
    assert.equal(api.displayName, 'Todo API (portal)', 'the name is left alone')
    assert.equal(scopeId(api, 'Todo.Read'), '33333333-3333-4333-8333-333333333333')
    assert.deepEqual(api.identifierUris, ['api://22222222-2222-4222-8222-222222222222'])
    assert.equal(t.applications.length, 2, 'one new registration: the Swagger UI client')
    assert.equal(run.printed.AZURE_CLIENT_ID, api.appId)
    assert.deepEqual(named(t, 'todo-api-swagger').spa.redirectUris, ['http://localhost:8080/docs/oauth2-redirect.html'])
  }))

  test('retries the writes Entra refuses until a new registration has replicated', withFake({ replicationLag: true }, async (fake) => {
    const run = ok(await register(fake, ['--redirect-uri', REDIRECT]))
    assert.ok(fake.calls().some((c) => c.status === 404), 'the fake did answer 404 to a write')
    assert.match(run.stderr, /not replicated yet, retrying/)
    const t = fake.tenant()
    assert.equal(t.servicePrincipals.length, 2)
    assert.equal(named(t, 'todo-api').api.requestedAccessTokenVersion, 2)
  }))

  test('stops with a clear message before changing anything', async (t) => {
    await t.test('not signed in', withFake({ loggedIn: false }, async (fake) => {
      const run = await register(fake)
      assert.equal(run.code, 1)
      assert.match(run.stderr, /run az login/)
      assert.deepEqual(writes(fake), [])
    }))
    await t.test('two registrations with the name', withFake({}, async (fake) => {
      ok(await register(fake))
      fake.update((tenant) => { tenant.applications.push({ ...structuredClone(named(tenant, 'todo-api')), id: '44444444-4444-4444-8444-444444444444', appId: '55555555-5555-4555-8555-555555555555' }) })
      const calls = fake.calls().length
      const run = await register(fake)
      assert.equal(run.code, 1)
      assert.match(run.stderr, /several applications are named "todo-api": choose one with --api-app-id/)
      assert.deepEqual(writes(fake, calls), [])
    }))
    await t.test('a redirect URI Entra refuses', withFake({}, async (fake) => {
      const run = await register(fake, ['--redirect-uri', 'http://todo.example.com/docs/oauth2-redirect.html'])
      assert.equal(run.code, 1)
      assert.match(run.stderr, /Entra accepts https:\/\/ URIs, or http:\/\/localhost/)
      assert.deepEqual(fake.calls(), [])
    }))
    await t.test('an app ID that is not a GUID', withFake({}, async (fake) => {
      const run = await register(fake, ['--api-app-id', 'todo-api'])
      assert.equal(run.code, 1)
      assert.match(run.stderr, /todo-api is not an application \(client\) ID/)
    }))
  })

  test('--public-base-url adds the resources the service publishes as identifier URIs, once the registration asks for v2 tokens', withFake({}, async (fake) => {
    const run = ok(await register(fake, ['--public-base-url', 'https://todo.example.com/']))
    const t = fake.tenant()
    const api = named(t, 'todo-api')
    assert.deepEqual(api.identifierUris, [`api://${api.appId}`, 'https://todo.example.com/api', 'https://todo.example.com/mcp'])
    // The scopes are the registration's: under each identifier URI (https://todo.example.com/mcp/Todo.Read).
    assert.deepEqual(api.api.oauth2PermissionScopes.map((s) => s.value), ['Todo.Read', 'Todo.Write'])
    assert.equal(run.printed.PUBLIC_BASE_URL, 'https://todo.example.com')
    assert.match(run.stderr, /az account get-access-token --scope https:\/\/todo\.example\.com\/mcp\/\.default/)
    // Off the tenant's verified domains, Graph takes an https URI only once the single-tenant registration asks
    // for v2 tokens: the version is saved by an earlier PATCH than the one adding the URIs.
    const patches = fake.calls().filter((c) => c.method === 'PATCH' && c.path === `/v1.0/applications/${api.id}`)
    const version = patches.findIndex((c) => JSON.stringify(c.body).includes('"requestedAccessTokenVersion":2'))
    const uris = patches.findIndex((c) => JSON.stringify(c.body).includes('https://todo.example.com/mcp'))
    assert.ok(version !== -1 && uris > version, 'the version is saved before the URIs are added')

    const calls = fake.calls().length
    ok(await register(fake, [], { PUBLIC_BASE_URL: 'https://todo.example.com' }))
    assert.deepEqual(writes(fake, calls), [], 'a rerun (PUBLIC_BASE_URL from the environment) changes nothing')
  }))

  test('an identifier URI Graph refuses stops the script with the way out', withFake({}, async (fake) => {
    ok(await register(fake))
    // A multi-tenant registration is not exempt from the verified-domain rule.
    fake.update((t) => { named(t, 'todo-api').signInAudience = 'AzureADMultipleOrgs' })
    const refused = await register(fake, ['--public-base-url', 'https://todo.example.com'])
    assert.equal(refused.code, 1)
    assert.match(refused.stderr, /HostNameNotOnVerifiedDomain/)
    assert.match(refused.stderr, /use a PUBLIC_BASE_URL on a verified domain, or ask an administrator/)
    assert.deepEqual(named(fake.tenant(), 'todo-api').identifierUris.length, 1)
    fake.update((t) => { t.verifiedDomains = ['example.com'] })
    ok(await register(fake, ['--public-base-url', 'https://todo.example.com']))
    assert.equal(named(fake.tenant(), 'todo-api').identifierUris.length, 3)
  }))

  test('a --public-base-url that is not an https origin is refused before any call', withFake({}, async (fake) => {
    for (const url of ['http://todo.example.com', 'https://todo.example.com/todo', 'https://todo.example.com?x=1', 'todo.example.com']) {
      const run = await register(fake, ['--public-base-url', url])
      assert.equal(run.code, 1, url)
      assert.match(run.stderr, /--public-base-url must be the service's https origin, without a path/, url)
    }
    assert.deepEqual(fake.calls(), [])
  }))

  test('--dry-run reads, prints each write as the az command that makes it, and sends none', withFake({}, async (fake) => {
    const first = await register(fake, ['--dry-run', '--public-base-url', 'https://todo.example.com', '--redirect-uri', REDIRECT])
    assert.equal(first.code, 0, first.stderr)
    assert.deepEqual(writes(fake), [])
    assert.deepEqual(fake.tenant().applications, [])
    assert.equal(first.stdout, '', 'no variables: nothing was registered')
    const commands = first.stderr.split('\n').filter((l) => l.startsWith('would run: ')).map((l) => l.slice('would run: '.length))
    assert.deepEqual(commands.map((c) => /^az rest --method (\w+) --uri (\S+)/.exec(c)?.slice(1).join(' ')), [
      'POST https://graph.microsoft.com/v1.0/applications',
      'PATCH https://graph.microsoft.com/v1.0/applications/dry-run-1',
      'PATCH https://graph.microsoft.com/v1.0/applications/dry-run-1',
      'POST https://graph.microsoft.com/v1.0/applications',
      'PATCH https://graph.microsoft.com/v1.0/applications/dry-run-2',
      'PATCH https://graph.microsoft.com/v1.0/applications/dry-run-1'
    ])
    assert.ok(commands.some((c) => c.includes('"identifierUris":["api://00000000-0000-0000-0000-000000000001","https://todo.example.com/api","https://todo.example.com/mcp"]')))
    assert.match(first.stderr, /Dry run: nothing was changed/)

    // On a registered API, the one write left; the printed command, run by a shell, makes it.
    ok(await register(fake, ['--redirect-uri', REDIRECT]))
    const calls = fake.calls().length
    const dry = await register(fake, ['--dry-run', '--public-base-url', 'https://todo.example.com'])
    assert.equal(dry.code, 0, dry.stderr)
    assert.deepEqual(writes(fake, calls), [])
    const [command, ...more] = dry.stderr.split('\n').filter((l) => l.startsWith('would run: ')).map((l) => l.slice('would run: '.length))
    assert.ok(command !== undefined && more.length === 0, dry.stderr)
    const shell = new Child('bash', ['-c', command], { cwd: REPO_ROOT, env: { PATH: [fake.bin, dirname(process.execPath), '/usr/bin', '/bin'].join(':'), ...fake.env } })
    assert.equal(await shell.exited, 0, shell.stderr)
    const api = named(fake.tenant(), 'todo-api')
    assert.deepEqual(api.identifierUris, [`api://${api.appId}`, 'https://todo.example.com/api', 'https://todo.example.com/mcp'])
    const after = fake.calls().length
    ok(await register(fake, ['--public-base-url', 'https://todo.example.com']))
    assert.deepEqual(writes(fake, after), [], 'the printed command did what the script would have done')
  }))

  test('the fake Graph refuses the bodies Microsoft Graph refuses', withFake({}, async (fake) => {
    ok(await register(fake))
    const api = named(fake.tenant(), 'todo-api')
    const path = `/applications/${api.id}`
    const scopes = api.api.oauth2PermissionScopes
    const newScope = { id: '66666666-6666-4666-8666-666666666666', value: 'Todo.Export', type: 'User', isEnabled: true, adminConsentDisplayName: 'Export', adminConsentDescription: 'Export todos' }
    const refused: [string, unknown, RegExp][] = [
      ['the old manifest name', { api: { ...api.api, accessTokenAcceptedVersion: 2 } }, /requestedAccessTokenVersion/],
      ['an enabled scope removed', { api: { ...api.api, oauth2PermissionScopes: scopes.slice(1) } }, /unless disabled first/],
      ['an enabled scope given a new ID', { api: { ...api.api, oauth2PermissionScopes: scopes.map((s, i) => i === 0 ? { ...s, id: newScope.id } : s) } }, /unless disabled first/],
      ['a pre-authorization of a scope added in the same request',
        { api: { ...api.api, oauth2PermissionScopes: [...scopes, newScope], preAuthorizedApplications: [{ appId: AZURE_CLI, delegatedPermissionIds: [newScope.id] }] } }, /cannot be found/],
      ['a read-only origin', { appRoles: api.appRoles.map((r) => ({ ...r, origin: 'Application' })) }, /read-only/],
      ['a scope ID that is no GUID', { api: { ...api.api, oauth2PermissionScopes: [...scopes, { ...newScope, id: 'todo-export' }] } }, /must be a GUID/],
      ['an identifier URI of another app', { identifierUris: ['api://todo'] }, /verified domain/],
      ['an identifier URI ending with a slash', { identifierUris: [`api://${api.appId}`, 'https://todo.example.com/mcp/'] }, /must not end with a slash/],
      ['an http redirect URI', { spa: { redirectUris: ['http://todo.example.com/docs/oauth2-redirect.html'] } }, /must use https/]
    ]
    for (const [what, body, message] of refused) {
      const answer = await graph(fake, 'PATCH', path, body)
      assert.equal(answer.code, 1, `${what} is refused`)
      assert.match(answer.stderr, message, what)
    }
    const created = await graph(fake, 'POST', '/applications', { displayName: 'x', identifierUris: ['api://x'] })
    assert.equal(created.code, 1, 'identifier URIs are refused at creation, before the appId exists')
    const unknown = await graph(fake, 'DELETE', path)
    assert.equal(unknown.code, 2, 'a call the fake does not know fails loudly')
    assert.match(unknown.stderr, /fake az: unexpected --method DELETE/)
    assert.deepEqual(named(fake.tenant(), 'todo-api'), api, 'nothing was changed')
  }))
})

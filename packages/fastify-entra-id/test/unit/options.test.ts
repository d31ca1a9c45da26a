// Option validation without the network: the verifier's options are checked by `EntraTokenVerifier.create`, which
// does no I/O, and registrations point at a test issuer on loopback that must receive nothing from a refused
// configuration. No test here contacts a real authority host or a port it did not open.
import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import Fastify from 'fastify'
import { EntraConfigError, fastifyEntraId } from '../../src/index.js'
import { EntraTokenVerifier } from '../../src/core/index.js'
import type { EntraIdPluginOptions } from '../../src/index.js'
import type { EntraIdOptions } from '../../src/core/index.js'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'

const tenantId = '72f988bf-86f1-41af-91ab-2d7cd011db47'
const clientId = '3a691ed5-bdea-43b1-be30-dcee49f19605'

type Case = readonly [name: string, options: Partial<EntraIdPluginOptions> | Record<string, unknown>, option: string]

// Options of the verifier: refused by `EntraTokenVerifier.create` and therefore by `register`.
const verifierCases: readonly Case[] = [
  ['a missing tenantId', { tenantId: undefined }, 'tenantId'],
  ['a tenantId that is neither a GUID, a domain nor organizations/common', { tenantId: '../evil' }, 'tenantId'],
  ['the consumers tenant', { tenantId: 'consumers' }, 'tenantId'],
  ['a clientId that is not a GUID', { clientId: 'my-api' }, 'clientId'],
  ['a clientId that is the App ID URI', { clientId: `api://${clientId}` }, 'clientId'],
  ['an empty audience list', { audience: [] }, 'audience'],
  ['an audience with blanks', { audience: [' api://x'] }, 'audience'],
  ['an http authorityHost that is not loopback', { authorityHost: 'http://login.example.com' }, 'authorityHost'],
  ['an authorityHost with a path', { authorityHost: 'https://login.microsoftonline.com/tenant' }, 'authorityHost'],
  ['an authorityHost that is not a URL', { authorityHost: 'login.microsoftonline.com' }, 'authorityHost'],
  ['a multi-tenant API with no tenant policy', { tenantId: 'organizations' }, 'allowedTenants'],
  ['allowedTenants with a non-GUID', { tenantId: 'common', allowedTenants: ['contoso'] }, 'allowedTenants'],
  ['an empty allowedTenants', { tenantId: 'common', allowedTenants: [] }, 'allowedTenants'],
  ['allowedTenants on a single-tenant API', { allowedTenants: '*' }, 'allowedTenants'],
  ['tokenVersions with 3', { tokenVersions: [3] }, 'tokenVersions'],
  ['no tokenVersions', { tokenVersions: [] }, 'tokenVersions'],
  ['a negative clockTolerance', { clockTolerance: -1 }, 'clockTolerance'],
  ['a fractional timeoutDuration', { timeoutDuration: 1.5 }, 'timeoutDuration'],
  ['a negative cooldownDuration', { cooldownDuration: -5 }, 'cooldownDuration'],
  ['a non-numeric cacheMaxAge', { cacheMaxAge: '10m' }, 'cacheMaxAge'],
  ['an onLoadError that is not a function', { onLoadError: 'warn' }, 'onLoadError'],
  ['an onLoad that is not a function', { onLoad: true }, 'onLoad']
]

// Options of the Fastify adapter (the challenge's realm, how logs name settings): refused by `register`.
const pluginCases: readonly Case[] = [
  ['a realm with a quote', { realm: 'my"api' }, 'realm'],
  ['a settingName that is not a function', { settingName: { tenantId: 'AZURE_TENANT_ID' } }, 'settingName']
]

function assertNamesOption(error: unknown, option: string): void {
  assert.ok(error instanceof EntraConfigError, `expected EntraConfigError, got ${String(error)}`)
  assert.equal(error.option, option)
  assert.equal(error.code, 'ENTRA_CONFIG_INVALID')
  assert.match(error.message, new RegExp(`"${option}"`))
}

describe('options are validated at registration', () => {
  // Stands in for the authority host of every registration: a refused configuration must send it nothing.
  let issuer: TestIssuer
  before(async () => { issuer = await startTestIssuer({ tenantId, clientId }) })
  after(async () => { await issuer.close() })

  /** Registers the plugin against the loopback issuer; resolves with what `register` threw, or `null`. */
  async function register(options: Partial<EntraIdPluginOptions> | Record<string, unknown>): Promise<unknown> {
    const app = Fastify()
    try {
      await app.register(fastifyEntraId, { tenantId, clientId, authorityHost: issuer.url, ...options } as EntraIdPluginOptions)
      return null
    } catch (error) {
      return error
    } finally {
      await app.close().catch(() => undefined)
    }
  }

  for (const [name, options, option] of [...verifierCases, ...pluginCases]) {
    it(`fails register, naming the option, for ${name}, before any request to the authority`, async () => {
      issuer.resetCounts()
      assertNamesOption(await register(options), option)
      assert.equal(issuer.count(), 0, 'a refused configuration fetches nothing')
    })
  }

  it('registers a verified domain and a multi-tenant API with an explicit policy (loopback authority)', async () => {
    for (const options of [
      { tenantId: 'contoso.onmicrosoft.com' },
      { tenantId: 'organizations', allowedTenants: [tenantId] },
      { tenantId: 'common', allowedTenants: '*' as const },
      { tokenVersions: [2] as const, clockTolerance: 0, audience: 'https://contoso.example/todo' }
    ]) {
      assert.equal(await register(options), null, JSON.stringify(options))
    }
  })
})

describe('verifier options are validated by EntraTokenVerifier.create, without I/O', () => {
  for (const [name, options, option] of verifierCases) {
    it(`refuses ${name}, naming the option`, () => {
      assert.throws(() => EntraTokenVerifier.create({ tenantId, clientId, ...options }), (error: unknown) => {
        assertNamesOption(error, option)
        return true
      })
    })
  }

  it('says a clientId "is required" only when it is missing, and what a given one must be otherwise', () => {
    const required = 'fastify-entra-id: "clientId" is required: the API\'s application (client) ID, a GUID'
    const notGuid = 'fastify-entra-id: "clientId" must be the API\'s application (client) ID, a GUID'
    const cases: readonly (readonly [unknown, string])[] = [
      [undefined, required],
      [null, required],
      ['', required],
      // The App ID URI, which the app registration shows next to the client ID.
      [`api://${clientId}`, `${notGuid}, not its App ID URI (api://...): tokens whose aud is "api://" + clientId are accepted by default, and other App ID URIs go in "audience"`],
      ['API://contoso-todo', `${notGuid}, not its App ID URI (api://...): tokens whose aud is "api://" + clientId are accepted by default, and other App ID URIs go in "audience"`],
      ['https://contoso.com/todo', `${notGuid}, not a URL: an App ID URI goes in "audience", listed with the client ID (audience: [clientId, appIdUri])`],
      ['my-api', notGuid],
      [`{${clientId}}`, notGuid],
      [42, notGuid]
    ]
    for (const [value, message] of cases) {
      assert.throws(() => EntraTokenVerifier.create({ tenantId, clientId: value } as EntraIdOptions), (error: unknown) => {
        assertNamesOption(error, 'clientId')
        assert.equal((error as Error).message, message, JSON.stringify(value))
        return true
      })
    }
  })

  it('accepts a verified domain, national clouds, loopback http, and multi-tenant with an explicit policy', () => {
    const accepted: readonly (readonly [Partial<EntraIdOptions>, string])[] = [
      [{ tenantId: 'contoso.onmicrosoft.com' }, 'https://login.microsoftonline.com'],
      [{ authorityHost: 'https://login.microsoftonline.us' }, 'https://login.microsoftonline.us'],
      [{ authorityHost: 'https://login.chinacloudapi.cn/' }, 'https://login.chinacloudapi.cn'],
      [{ authorityHost: 'http://localhost:3000' }, 'http://localhost:3000'],
      [{ authorityHost: 'http://127.0.0.1:3000' }, 'http://127.0.0.1:3000'],
      [{ tenantId: 'organizations', allowedTenants: [tenantId] }, 'https://login.microsoftonline.com'],
      [{ tenantId: 'common', allowedTenants: '*' }, 'https://login.microsoftonline.com'],
      [{ tokenVersions: [2], clockTolerance: 0, audience: 'https://contoso.example/todo' }, 'https://login.microsoftonline.com']
    ]
    for (const [options, authorityHost] of accepted) {
      // create() only validates: the hosts above are never contacted (hydrate() is what loads).
      const verifier = EntraTokenVerifier.create({ tenantId, clientId, ...options })
      try {
        assert.equal(verifier.options.authorityHost, authorityHost, JSON.stringify(options))
        assert.equal(verifier.isReady, false, 'nothing was loaded')
      } finally {
        verifier.close()
      }
    }
  })
})

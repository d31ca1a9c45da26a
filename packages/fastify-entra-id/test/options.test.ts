import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import Fastify from 'fastify'
import { EntraConfigError, fastifyEntraId } from '../src/index.js'
import type { EntraIdPluginOptions } from '../src/index.js'

const tenantId = '72f988bf-86f1-41af-91ab-2d7cd011db47'
const clientId = '3a691ed5-bdea-43b1-be30-dcee49f19605'

async function register(options: Partial<EntraIdPluginOptions>): Promise<unknown> {
  const app = Fastify()
  try {
    await app.register(fastifyEntraId, { tenantId, clientId, authorityHost: 'http://127.0.0.1:9', ...options } as EntraIdPluginOptions)
    // ready() would try to load keys; the registration itself is what is under test.
    return null
  } catch (error) {
    return error
  } finally {
    await app.close().catch(() => undefined)
  }
}

describe('options are validated at registration', () => {
  const cases: [string, Partial<EntraIdPluginOptions> | Record<string, unknown>, string][] = [
    ['a missing tenantId', { tenantId: undefined }, 'tenantId'],
    ['a tenantId that is neither a GUID, a domain nor organizations/common', { tenantId: '../evil' }, 'tenantId'],
    ['the consumers tenant', { tenantId: 'consumers' }, 'tenantId'],
    ['a clientId that is not a GUID', { clientId: 'my-api' }, 'clientId'],
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
    ['a realm with a quote', { realm: 'my"api' }, 'realm'],
    ['an onLoadError that is not a function', { onLoadError: 'warn' }, 'onLoadError'],
    ['an onLoad that is not a function', { onLoad: true }, 'onLoad'],
    ['a settingName that is not a function', { settingName: { tenantId: 'AZURE_TENANT_ID' } }, 'settingName']
  ]
  for (const [name, options, option] of cases) {
    it(`fails register, naming the option, for ${name}`, async () => {
      const error = await register(options)
      assert.ok(error instanceof EntraConfigError, `expected EntraConfigError, got ${String(error)}`)
      assert.equal(error.option, option)
      assert.equal(error.code, 'ENTRA_CONFIG_INVALID')
      assert.match(error.message, new RegExp(`"${option}"`))
    })
  }

  it('accepts a verified domain, a national cloud, loopback http, and multi-tenant with an explicit policy', async () => {
    for (const options of [
      { tenantId: 'contoso.onmicrosoft.com' },
      { authorityHost: 'https://login.microsoftonline.us' },
      { authorityHost: 'https://login.chinacloudapi.cn/' },
      { authorityHost: 'http://localhost:8081' },
      { tenantId: 'organizations', allowedTenants: [tenantId] },
      { tenantId: 'common', allowedTenants: '*' as const },
      { tokenVersions: [2] as const, clockTolerance: 0, audience: 'https://contoso.example/todo' }
    ]) {
      assert.equal(await register(options), null, JSON.stringify(options))
    }
  })
})

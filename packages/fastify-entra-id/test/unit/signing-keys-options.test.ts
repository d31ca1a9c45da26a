// The `signingKeys` option, checked by `EntraTokenVerifier.create` (no I/O): each bad value is refused with an
// EntraConfigError naming the option and saying what it must be.
import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { generateKeyPairSync } from 'node:crypto'
import { calculateJwkThumbprint } from 'jose'
import { EntraConfigError, EntraTokenVerifier } from '../../src/core/index.js'
import type { EntraIdOptions, SigningKeysOptions } from '../../src/core/index.js'
import { parseKeyText } from '../../src/core/options/key-text.js'

const tenantId = '72f988bf-86f1-41af-91ab-2d7cd011db47'
const clientId = '3a691ed5-bdea-43b1-be30-dcee49f19605'
const issuer = `https://login.microsoftonline.com/${tenantId}/v2.0`
const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 })
const publicPem = rsa.publicKey.export({ type: 'spki', format: 'pem' })
const publicJwk = rsa.publicKey.export({ format: 'jwk' })
const jwks = { keys: [{ ...publicJwk, kid: 'k1', use: 'sig' }] }

function refusal(signingKeys: unknown, more: Partial<EntraIdOptions> = {}): EntraConfigError {
  try {
    EntraTokenVerifier.create({ tenantId, clientId, ...more, signingKeys: signingKeys as SigningKeysOptions })
  } catch (error) {
    assert.ok(error instanceof EntraConfigError, String(error))
    return error
  }
  assert.fail('the options were accepted')
}

describe('signingKeys option', () => {
  const cases: readonly [string, unknown, Partial<EntraIdOptions>, string, RegExp][] = [
    ['no issuer', { keys: jwks }, {}, 'signingKeys.issuer', /must be the issuer \(iss\)/],
    ['an issuer that is not https', { issuer: 'http://login.example.com/t/v2.0', keys: jwks }, {}, 'signingKeys.issuer', /https URL/],
    ['a multi-tenant issuer for a single-tenant API', { issuer: 'https://login.microsoftonline.com/{tenantid}/v2.0', keys: jwks }, {}, 'signingKeys.issuer', /must name the tenant/],
    ['a single-tenant issuer for a multi-tenant API', { issuer, keys: jwks }, { tenantId: 'organizations', allowedTenants: '*' }, 'signingKeys.issuer', /must contain \{tenantid\}/],
    ['neither keys nor file', { issuer }, {}, 'signingKeys', /exactly one of "keys"/],
    ['both keys and file', { issuer, keys: jwks, file: '/etc/keys.json' }, {}, 'signingKeys', /exactly one of "keys"/],
    ['a private key in a JWKS', { issuer, keys: { keys: [rsa.privateKey.export({ format: 'jwk' })] } }, {}, 'signingKeys.keys', /private or secret key.*public keys only/],
    ['a private key in PEM', { issuer, keys: rsa.privateKey.export({ type: 'pkcs8', format: 'pem' }) }, {}, 'signingKeys.keys', /private key.*openssl pkey -pubout/],
    ['text that is neither JSON nor PEM', { issuer, keys: 'keys' }, {}, 'signingKeys.keys', /neither a JWKS document/],
    ['a JWKS without an RSA key of 2048 bits', { issuer, keys: { keys: [{ kty: 'EC', kid: 'e', crv: 'P-256', x: 'a', y: 'b' }] } }, {}, 'signingKeys.keys', /no RSA public key of at least 2048 bits/],
    ['a short RSA key in PEM', { issuer, keys: generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }) }, {}, 'signingKeys.keys', /shorter than 2048 bits/],
    ['v1.0 tokens without a v1 issuer', { issuer, keys: jwks }, { tokenVersions: [1, 2] }, 'signingKeys.v1Issuer', /required when tokenVersions includes 1/],
    ['B2C', { issuer, keys: jwks }, { tenantId: 'contoso.onmicrosoft.com', authorityHost: 'https://contoso.b2clogin.com', b2c: { policies: ['B2C_1_signin'] } }, 'signingKeys', /does not apply to B2C/],
    ['appSpecificKeys', { issuer, keys: jwks }, { appSpecificKeys: true }, 'signingKeys', /appSpecificKeys does not apply/],
    ['a negative fileCheckInterval', { issuer, file: 'keys.json', fileCheckInterval: -1 }, {}, 'signingKeys.fileCheckInterval', /non-negative integer number of milliseconds/]
  ]
  for (const [name, value, more, option, message] of cases) {
    it(`refuses ${name}, naming ${option}`, () => {
      const error = refusal(value, more)
      assert.equal(error.option, option)
      assert.match(error.message, message)
    })
  }

  it('accepts v2.0 tokens only by default when no v1 issuer is given', () => {
    const verifier = EntraTokenVerifier.create({ tenantId, clientId, signingKeys: { issuer, keys: jwks } })
    assert.deepEqual([...verifier.options.tokenVersions], [2])
  })

  it('gives a PEM key its RFC 7638 thumbprint as kid, unless a kid: line names it', async () => {
    const thumbprint = await calculateJwkThumbprint(publicJwk, 'sha256')
    assert.equal(parseKeyText(publicPem as string).keys[0]?.kid, thumbprint)
    assert.equal(parseKeyText(`kid: abc\n${publicPem as string}`).keys[0]?.kid, 'abc')
    // A JWKS key without kid gets it too.
    assert.equal(parseKeyText(JSON.stringify({ keys: [publicJwk] })).keys[0]?.kid, thumbprint)
  })
})

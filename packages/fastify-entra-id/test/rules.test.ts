import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { checkHeader } from '../src/header-rules.js'
import { checkClaims, checkTime } from '../src/claim-rules.js'
import type { ClaimContext } from '../src/claim-rules.js'

// The rules as pure functions: no issuer, no keys, no clock but the `now` they are given.
const NOW = Date.UTC(2026, 11, 1, 12) // milliseconds
const seconds = NOW / 1000
const tid = randomUUID()
const context: ClaimContext = {
  v2Issuer: 'https://login.example/{tenantid}/v2.0',
  v1Issuer: 'https://sts.example/{tenantid}/',
  tokenVersions: new Set([1, 2]),
  allowedTenants: null,
  audiences: new Set(['api://todo']),
  clockTolerance: 300
}
const good = { iss: `https://login.example/${tid}/v2.0`, tid, ver: '2.0', aud: 'api://todo', exp: seconds + 3600, scp: 'Todo.Read' }
const code = (fn: () => unknown): unknown => {
  try {
    fn()
  } catch (error) {
    return (error as { code?: unknown }).code
  }
  return 'accepted'
}

describe('checkHeader', () => {
  it('returns the kid of an RS256 header', () => {
    assert.equal(checkHeader({ alg: 'RS256', kid: 'k1', typ: 'JWT' }), 'k1')
  })
  it('refuses the crit and b64 extensions (RFC 7515 §4.1.11, RFC 7797), whatever their value', () => {
    for (const extension of [{ crit: ['b64'], b64: false }, { crit: [] }, { crit: ['exp'] }, { b64: true }, { b64: false }]) {
      assert.equal(code(() => checkHeader({ alg: 'RS256', kid: 'k1', ...extension })), 'ENTRA_TOKEN_MALFORMED', JSON.stringify(extension))
    }
  })
  it('refuses another algorithm, a key-bearing header and a missing or empty kid', () => {
    assert.equal(code(() => checkHeader({ alg: 'none', kid: 'k1' })), 'ENTRA_TOKEN_UNSUPPORTED_ALGORITHM')
    assert.equal(code(() => checkHeader({ alg: 'RS256', kid: 'k1', jku: 'https://evil.example/keys' })), 'ENTRA_TOKEN_UNTRUSTED_KEY')
    assert.equal(code(() => checkHeader({ alg: 'RS256' })), 'ENTRA_TOKEN_MALFORMED')
    assert.equal(code(() => checkHeader({ alg: 'RS256', kid: '' })), 'ENTRA_TOKEN_MALFORMED')
    assert.equal(code(() => checkHeader({ alg: 'RS256', kid: 7 })), 'ENTRA_TOKEN_MALFORMED')
  })
})

describe('checkClaims and checkTime', () => {
  it('return the version of valid claims, v2 and v1', () => {
    assert.equal(checkClaims(good, context, NOW), 2)
    assert.equal(checkClaims({ ...good, iss: `https://sts.example/${tid}/`, ver: '1.0' }, context, NOW), 1)
  })
  it('refuse nbf and iat of the wrong type, as well as exp', () => {
    for (const claim of ['nbf', 'iat', 'exp']) {
      for (const value of ['1700000000', null, true, [seconds], { seconds }, -1, 253_402_300_800]) {
        assert.equal(code(() => checkClaims({ ...good, [claim]: value }, context, NOW)), 'ENTRA_TOKEN_INVALID_CLAIMS', `${claim}: ${JSON.stringify(value)}`)
      }
    }
  })
  it('apply the tolerance at its edges, in seconds', () => {
    assert.equal(checkTime({ exp: seconds - 299 }, 300, NOW), null)
    assert.equal(checkTime({ exp: seconds - 300 }, 300, NOW)?.code, 'ENTRA_TOKEN_EXPIRED')
    assert.equal(checkTime({ exp: seconds + 60, nbf: seconds + 300 }, 300, NOW), null)
    assert.equal(checkTime({ exp: seconds + 60, nbf: seconds + 301 }, 300, NOW)?.code, 'ENTRA_TOKEN_NOT_YET_VALID')
  })
  it('check a key\'s issuer field against the token\'s issuer, a v1 token through its v2 form', () => {
    assert.equal(checkClaims(good, context, NOW, 'https://login.example/{tenantid}/v2.0'), 2)
    assert.equal(checkClaims({ ...good, iss: `https://sts.example/${tid}/`, ver: '1.0' }, context, NOW, 'https://login.example/{tenantid}/v2.0'), 1)
    assert.equal(code(() => checkClaims(good, context, NOW, `https://login.example/${randomUUID()}/v2.0`)), 'ENTRA_TOKEN_INVALID_ISSUER')
  })
  it('refuse the allowed tenants\' complement and a second audience', () => {
    assert.equal(code(() => checkClaims(good, { ...context, allowedTenants: new Set([randomUUID()]) }, NOW)), 'ENTRA_TOKEN_TENANT_NOT_ALLOWED')
    assert.equal(code(() => checkClaims({ ...good, aud: ['api://todo', 'api://other'] }, context, NOW)), 'ENTRA_TOKEN_INVALID_AUDIENCE')
  })
})

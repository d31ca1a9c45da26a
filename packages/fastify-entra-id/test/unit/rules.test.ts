import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { randomUUID } from 'node:crypto'
import { checkHeader } from '../../src/core/verification/header-rules.js'
import { checkClaims } from '../../src/core/verification/claim-rules.js'
import { checkTime } from '../../src/core/verification/time-rules.js'
import type { ClaimContext } from '../../src/core/verification/claim-rules.js'

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
  it('refuses a nonce (Microsoft Graph\'s header) whatever its value, with or without a kid, after the algorithm and key rules', () => {
    for (const nonce of ['abc', '', null, 7, { a: 1 }]) {
      assert.equal(code(() => checkHeader({ alg: 'RS256', kid: 'k1', nonce })), 'ENTRA_TOKEN_FOR_GRAPH', JSON.stringify(nonce))
    }
    assert.equal(code(() => checkHeader({ alg: 'RS256', nonce: 'abc' })), 'ENTRA_TOKEN_FOR_GRAPH')
    assert.equal(code(() => checkHeader({ alg: 'none', kid: 'k1', nonce: 'abc' })), 'ENTRA_TOKEN_UNSUPPORTED_ALGORITHM')
    assert.equal(code(() => checkHeader({ alg: 'RS256', kid: 'k1', nonce: 'abc', jku: 'https://evil.example/keys' })), 'ENTRA_TOKEN_UNTRUSTED_KEY')
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
  it('refuse a Graph audience (any case, one final slash) before anything else, unless the API accepts it', () => {
    for (const aud of ['00000003-0000-0000-C000-000000000000', 'HTTPS://graph.microsoft.com/', 'https://graph.microsoft.us', 'https://dod-graph.microsoft.us/', 'https://microsoftgraph.chinacloudapi.cn']) {
      assert.equal(code(() => checkClaims({ ...good, aud, iss: 'https://elsewhere.example/', exp: 1 }, context, NOW)), 'ENTRA_TOKEN_FOR_GRAPH', aud)
    }
    assert.equal(code(() => checkClaims({ ...good, aud: 'https://graph.microsoft.com//' }, context, NOW)), 'ENTRA_TOKEN_INVALID_AUDIENCE')
    assert.equal(code(() => checkClaims({ ...good, aud: `https://graph.microsoft.com${'/'.repeat(16_000)}` }, context, NOW)), 'ENTRA_TOKEN_INVALID_AUDIENCE')
    assert.equal(code(() => checkClaims({ ...good, aud: ['https://graph.microsoft.com'] }, context, NOW)), 'ENTRA_TOKEN_INVALID_AUDIENCE')
    assert.equal(checkClaims({ ...good, aud: 'https://graph.microsoft.com' }, { ...context, audiences: new Set(['https://graph.microsoft.com']) }, NOW), 2)
  })
  it('refuse a token without scp, azp and appid as an ID token, roles or not, and one with azp but no permissions as not an access token', () => {
    const id = { iss: good.iss, tid, ver: '2.0', aud: 'api://todo', exp: seconds + 3600 }
    assert.equal(code(() => checkClaims(id, context, NOW)), 'ENTRA_TOKEN_ID_TOKEN')
    assert.equal(code(() => checkClaims({ ...id, roles: ['Todo.Read.All'] }, context, NOW)), 'ENTRA_TOKEN_ID_TOKEN')
    assert.equal(code(() => checkClaims({ ...id, aud: randomUUID(), ver: '1.0' }, context, NOW)), 'ENTRA_TOKEN_ID_TOKEN')
    assert.equal(code(() => checkClaims({ ...id, azp: randomUUID() }, context, NOW)), 'ENTRA_TOKEN_NOT_ACCESS_TOKEN')
    assert.equal(code(() => checkClaims({ ...id, appid: randomUUID() }, context, NOW)), 'ENTRA_TOKEN_NOT_ACCESS_TOKEN')
    assert.equal(checkClaims({ ...id, azp: randomUUID(), roles: ['Todo.Read.All'] }, context, NOW), 2)
  })
  it('refuse a token with nonce, at_hash or c_hash as an ID token, whatever client it names; never one with scp or idtyp app', () => {
    const id = { iss: good.iss, tid, ver: '2.0', aud: randomUUID(), exp: seconds + 3600, azp: randomUUID() }
    for (const only of [{ nonce: 'n' }, { at_hash: 'h' }, { c_hash: 'h' }]) {
      assert.equal(code(() => checkClaims({ ...id, ...only }, context, NOW)), 'ENTRA_TOKEN_ID_TOKEN', JSON.stringify(only))
      assert.equal(code(() => checkClaims({ ...id, ...only, roles: ['Todo.Read.All'] }, context, NOW)), 'ENTRA_TOKEN_ID_TOKEN')
      assert.equal(code(() => checkClaims({ ...id, ...only, appid: randomUUID(), azp: undefined, ver: '1.0' }, context, NOW)), 'ENTRA_TOKEN_ID_TOKEN')
    }
    // An access token for another API is still that, and app-only and agent tokens (idtyp app) are never ID tokens.
    assert.equal(code(() => checkClaims({ ...id, scp: 'Todo.Read', nonce: 'n' }, context, NOW)), 'ENTRA_TOKEN_INVALID_AUDIENCE')
    assert.equal(code(() => checkClaims({ ...id, idtyp: 'app', nonce: 'n' }, context, NOW)), 'ENTRA_TOKEN_INVALID_AUDIENCE')
    assert.equal(code(() => checkClaims({ ...id, aud: 'api://todo', idtyp: 'app', azp: undefined }, context, NOW)), 'ENTRA_TOKEN_NOT_ACCESS_TOKEN')
  })
  it('refuse, on a single-tenant API, Entra\'s issuer of another tenant as that tenant\'s, and any other issuer as invalid', () => {
    const own = randomUUID()
    const single: ClaimContext = { ...context, v2Issuer: `https://login.example/${own}/v2.0`, v1Issuer: `https://sts.example/${own}/` }
    const other = randomUUID()
    const at = (iss: string, ver = '2.0') => code(() => checkClaims({ ...good, tid: other, iss, ver }, single, NOW))
    assert.equal(at(`https://login.example/${other}/v2.0`), 'ENTRA_TOKEN_TENANT_NOT_ALLOWED')
    assert.equal(at(`https://sts.example/${other}/`, '1.0'), 'ENTRA_TOKEN_TENANT_NOT_ALLOWED')
    // A v2-only API never read the v1 issuer: another tenant's v1 token is told about its version first.
    assert.equal(code(() => checkClaims({ ...good, tid: other, iss: `https://sts.example/${other}/`, ver: '1.0' }, { ...single, v1Issuer: undefined, tokenVersions: new Set([2]) }, NOW)), 'ENTRA_TOKEN_VERSION_MISMATCH')
    for (const iss of [`https://login.example/${randomUUID()}/v2.0`, `https://login.example:8443/${other}/v2.0`, `https://login.example/${other}/v2.0/`, `https://login.example/${other}/v2.0?x`]) {
      assert.equal(at(iss), 'ENTRA_TOKEN_INVALID_ISSUER', iss)
    }
    // The API's own tenant, from an issuer that moved: not another tenant.
    assert.equal(code(() => checkClaims({ ...good, tid: own, iss: `https://moved.example/${own}/v2.0` }, single, NOW)), 'ENTRA_TOKEN_INVALID_ISSUER')
  })
  it('say how long ago a token expired, in whole seconds counted from exp', () => {
    assert.equal(checkTime({ exp: seconds - 400 }, 300, NOW)?.message, 'The token expired 400 s ago: request a new token (if it was just issued, a clock is wrong)')
    assert.equal(checkTime({ exp: seconds - 400.5 }, 300, NOW + 999)?.message.startsWith('The token expired 401 s ago:'), true)
    assert.equal(checkTime({ exp: seconds }, 0, NOW + 999)?.message.startsWith('The token expired 0 s ago:'), true)
  })
  it('refuse the allowed tenants\' complement and a second audience', () => {
    assert.equal(code(() => checkClaims(good, { ...context, allowedTenants: new Set([randomUUID()]) }, NOW)), 'ENTRA_TOKEN_TENANT_NOT_ALLOWED')
    assert.equal(code(() => checkClaims({ ...good, aud: ['api://todo', 'api://other'] }, context, NOW)), 'ENTRA_TOKEN_INVALID_AUDIENCE')
  })
})

// The claims of the tokens a TestIssuer mints, shaped as Entra and B2C issue them, and their signing.

import { randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import { TEST_BLUEPRINT_APP_ID, TEST_CLIENT_APP_ID } from './options.js'
import type { B2cMintOptions, IdTokenOptions, MintOptions } from './options.js'
import type { SigningKey } from './signing-keys.js'

/** What the claims are made of, from the issuer. */
export interface MintingIssuer {
  readonly tenantId: string
  readonly clientId: string
  issuer(version: 1 | 2, tenantId?: string): string
  b2cIssuer(policy?: string): string
}

/** The claims of an access token (see TestIssuer.mint), before the `claims` overrides. */
export function accessTokenClaims(issuer: MintingIssuer, options: MintOptions): Record<string, unknown> {
  const version = options.version ?? 2
  const tid = options.tenantId ?? issuer.tenantId
  const now = options.now ?? Math.floor(Date.now() / 1000)
  const oid = options.objectId ?? randomUUID()
  const clientAppId = options.clientAppId ?? TEST_CLIENT_APP_ID
  const appOnly = options.appOnly === true || options.agent === 'agent'
  const claims: Record<string, unknown> = {
    aud: options.audience ?? issuer.clientId,
    iss: issuer.issuer(version, tid),
    iat: now,
    nbf: now + (options.notBefore ?? 0),
    exp: now + (options.expiresIn ?? 3600),
    tid,
    oid,
    sub: appOnly ? oid : randomUUID(),
    ver: version === 2 ? '2.0' : '1.0',
    uti: randomUUID().replace(/-/g, '').slice(0, 22),
    rh: '0.AAAA-test-issuer.'
  }
  claims[version === 2 ? 'azp' : 'appid'] = clientAppId
  claims[version === 2 ? 'azpacr' : 'appidacr'] = '1'
  if (appOnly) {
    claims.idtyp = 'app'
  } else {
    claims.name = options.name ?? 'Test User'
    claims[version === 2 ? 'preferred_username' : 'upn'] = options.username ?? `user@${tid.slice(0, 8)}.example`
  }
  if (options.agent !== undefined) Object.assign(claims, agentClaims(options.agent, options.blueprintAppId), { [version === 2 ? 'azpacr' : 'appidacr']: '2' })
  if (options.scopes !== undefined && options.scopes.length > 0) claims.scp = options.scopes.join(' ')
  if (options.roles !== undefined && options.roles.length > 0) claims.roles = [...options.roles]
  return claims
}

/**
 * The claims Microsoft Entra Agent ID adds for each way an agent calls, as "Token claims reference for agents"
 * (Microsoft Learn) shows them: its example token for an agent acting on its own, its scenario tables for the
 * others. The agent authenticates with its blueprint's credential, a certificate or federated one (`azpacr` 2).
 */
function agentClaims(agent: NonNullable<MintOptions['agent']>, blueprintAppId: string | null | undefined): Record<string, unknown> {
  const blueprint = blueprintAppId === null ? {} : { xms_par_app_azp: blueprintAppId ?? TEST_BLUEPRINT_APP_ID }
  switch (agent) {
    case 'agent':
      return { idtyp: 'app', xms_act_fct: '3 9 11', xms_sub_fct: '9 3 11', xms_tnt_fct: '3 9', xms_idrel: '7 10', ...blueprint }
    case 'agentForUser':
      return { idtyp: 'user', xms_act_fct: '11', xms_idrel: '1', ...blueprint }
    case 'agentUser':
      return { idtyp: 'user', xms_act_fct: '11', xms_sub_fct: '13', xms_idrel: '1', ...blueprint }
  }
}

/** The claims of an ID token (see TestIssuer.mintIdToken), before the `claims` overrides. */
export function idTokenClaims(issuer: MintingIssuer, options: IdTokenOptions): Record<string, unknown> {
  const version = options.version ?? 2
  const tid = options.tenantId ?? issuer.tenantId
  const now = options.now ?? Math.floor(Date.now() / 1000)
  const username = options.username ?? `user@${tid.slice(0, 8)}.example`
  const claims: Record<string, unknown> = {
    aud: options.audience ?? TEST_CLIENT_APP_ID,
    iss: issuer.issuer(version, tid),
    iat: now,
    nbf: now,
    exp: now + (options.expiresIn ?? 3600),
    tid,
    oid: options.objectId ?? randomUUID(),
    sub: randomUUID(),
    ver: version === 2 ? '2.0' : '1.0',
    nonce: options.nonce ?? randomUUID(),
    name: options.name ?? 'Test User',
    uti: randomUUID().replace(/-/g, '').slice(0, 22),
    rh: '0.AAAA-test-issuer.'
  }
  if (version === 2) {
    claims.preferred_username = username
  } else {
    claims.upn = username
    claims.unique_name = username
  }
  if (options.roles !== undefined && options.roles.length > 0) claims.roles = [...options.roles]
  return claims
}

/** The claims of a B2C access token of `policy` (see TestIssuer.mintB2c), before the `claims` overrides. */
export function b2cTokenClaims(issuer: MintingIssuer, policy: string, options: B2cMintOptions): Record<string, unknown> {
  const now = options.now ?? Math.floor(Date.now() / 1000)
  const claims: Record<string, unknown> = {
    iss: issuer.b2cIssuer(policy),
    exp: now + (options.expiresIn ?? 3600),
    nbf: now + (options.notBefore ?? 0),
    aud: options.audience ?? issuer.clientId,
    sub: options.subject ?? randomUUID(),
    name: options.name ?? 'Test Customer',
    [options.policyClaim ?? 'tfp']: policy,
    azp: options.clientAppId ?? TEST_CLIENT_APP_ID,
    ver: '1.0',
    iat: now,
    auth_time: now
  }
  if (options.scopes !== undefined && options.scopes.length > 0) claims.scp = options.scopes.join(' ')
  if (options.roles !== undefined && options.roles.length > 0) claims.roles = [...options.roles]
  return claims
}

/** Signs `claims` (with its `claims` overrides applied) with `key`, under the header Entra uses with its `header` overrides. */
export function signToken(claims: Record<string, unknown>, options: Pick<MintOptions, 'claims' | 'header'>, key: SigningKey): Promise<string> {
  applyOverrides(claims, options.claims)
  const header: Record<string, unknown> = { alg: 'RS256', typ: 'JWT', kid: key.kid, x5t: key.kid }
  applyOverrides(header, options.header)
  return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey)
}

function applyOverrides(target: Record<string, unknown>, overrides: Readonly<Record<string, unknown>> | undefined): void {
  if (overrides === undefined) return
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) Reflect.deleteProperty(target, name)
    else target[name] = value
  }
}

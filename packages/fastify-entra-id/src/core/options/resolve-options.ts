// Checks the options once, when the verifier is created, and applies their defaults: what the verifier runs on.

import type { EntraIdOptions, LoadAttempt, LoadSuccess, TokenVersion } from './entra-id-options.js'
import { resolveAllowedTenants, resolveB2c } from './tenant-options.js'
import type { ResolvedTenantPolicy } from './tenant-options.js'
import { resolveRevocation } from './revocation-options.js'
import type { ResolvedRevocation } from './revocation-options.js'
import { DEFAULT_REALM } from '../errors/challenge.js'
import { resolveTokenCacheOptions } from '../token-cache/cache-options.js'
import type { ResolvedTokenCacheOptions } from '../token-cache/cache-options.js'
import { EntraConfigError } from '../../util/config-error.js'
import { MULTI_TENANT } from '../../util/entra-urls.js'
import { isGuid } from '../../util/guid.js'
import { duration, optionalFunction } from '../../util/option-checks.js'
import { authorityOrigin } from '../../util/authority-origin.js'
import { checkSigningKeyVersions, defaultTokenVersions, resolveSigningKeys } from './signing-keys-options.js'
import type { ResolvedSigningKeys } from './signing-keys-options.js'
import { resolveNetwork } from '../network/network-options.js'
import type { ResolvedNetwork } from '../network/network-options.js'

/** The options after validation, with every default applied and every lookup structure built once. */
export interface ResolvedOptions {
  readonly tenantId: string
  readonly clientId: string
  readonly multiTenant: boolean
  readonly audiences: ReadonlySet<string>
  readonly authorityHost: string
  /** `null` means every tenant (said explicitly with `"*"`), or a single-tenant API, or a {@link tenantPolicy}. */
  readonly allowedTenants: ReadonlySet<string> | null
  /** The `allowedTenants` function with its cache settings, or null. */
  readonly tenantPolicy: ResolvedTenantPolicy | null
  /** B2C's policies, as configured (their case kept for URLs), or null for Entra ID. */
  readonly b2cPolicies: readonly string[] | null
  readonly appSpecificKeys: boolean
  /** Keys and issuers given (no discovery, no key-set fetch), or null for discovery. */
  readonly signingKeys: ResolvedSigningKeys | null
  readonly tokenVersions: ReadonlySet<TokenVersion>
  readonly clockTolerance: number
  readonly timeoutDuration: number
  readonly cooldownDuration: number
  readonly cacheMaxAge: number
  readonly realm: string
  readonly clock: () => number
  readonly tokenCache: ResolvedTokenCacheOptions | false
  /** The `revocation` check with its cache settings, or null: nothing to ask. */
  readonly revocation: ResolvedRevocation | null
  readonly onLoadError: ((error: Error, attempt: LoadAttempt) => void) | undefined
  readonly onLoad: ((success: LoadSuccess) => void) | undefined
  /** How outbound requests leave: the fetch they all go through. */
  readonly network: ResolvedNetwork
}

// A DNS name of at least two labels: what Entra accepts as a verified domain in the authority path.
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i

/** Validates `options` and applies defaults. Throws {@link EntraConfigError} naming the first bad option. */
export function resolveOptions(options: EntraIdOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') {
    throw new EntraConfigError('options', 'must be an object with at least tenantId and clientId')
  }
  const { tenantId, clientId } = options
  if (typeof tenantId !== 'string' || tenantId === '') {
    throw new EntraConfigError('tenantId', 'is required: a tenant ID (GUID), a verified domain, "organizations" or "common"')
  }
  const multiTenant = MULTI_TENANT.has(tenantId.toLowerCase())
  if (tenantId.toLowerCase() === 'consumers') {
    throw new EntraConfigError('tenantId', 'must not be "consumers": personal-account-only APIs are not supported')
  }
  if (!multiTenant && !isGuid(tenantId) && !DOMAIN.test(tenantId)) {
    throw new EntraConfigError('tenantId', 'must be a tenant ID (GUID), a verified domain, "organizations" or "common"')
  }
  if (clientId === undefined || clientId === null || clientId === '') {
    throw new EntraConfigError('clientId', 'is required: the API\'s application (client) ID, a GUID')
  }
  if (!isGuid(clientId)) {
    // The app registration shows its App ID URI (api://{client ID} unless changed, or an https URL) next to the
    // client ID, and a v1 token's aud carries it: a frequent mix-up, so say where an App ID URI goes instead.
    const given: unknown = clientId
    const value = typeof given === 'string' ? given.trim() : ''
    const hint = /^api:\/\//i.test(value)
      ? ', not its App ID URI (api://...): tokens whose aud is "api://" + clientId are accepted by default, and other App ID URIs go in "audience"'
      : /^[a-z][a-z0-9+.-]*:\/\//i.test(value)
        ? ', not a URL: an App ID URI goes in "audience", listed with the client ID (audience: [clientId, appIdUri])'
        : ''
    throw new EntraConfigError('clientId', `must be the API's application (client) ID, a GUID${hint}`)
  }

  const audienceList = options.audience === undefined
    ? [clientId, `api://${clientId}`]
    : typeof options.audience === 'string' ? [options.audience] : options.audience
  if (!Array.isArray(audienceList) || audienceList.length === 0 ||
    !audienceList.every((a: unknown) => typeof a === 'string' && a.trim() !== '' && a === a.trim())) {
    throw new EntraConfigError('audience', 'must be a non-empty string or a non-empty array of non-empty strings')
  }

  const authorityHost = authorityOrigin(options.authorityHost)

  const { allowedTenants, tenantPolicy } = resolveAllowedTenants(options, tenantId, multiTenant)

  const b2cPolicies = resolveB2c(options, multiTenant)
  const appSpecificKeys = options.appSpecificKeys ?? false
  if (typeof appSpecificKeys !== 'boolean') throw new EntraConfigError('appSpecificKeys', 'must be true or false')
  if (appSpecificKeys && b2cPolicies !== null) {
    throw new EntraConfigError('appSpecificKeys', 'does not apply to B2C (b2c): B2C publishes no application-specific keys')
  }

  const signingKeys = resolveSigningKeys(options.signingKeys, { multiTenant, b2c: b2cPolicies !== null, appSpecificKeys })

  // B2C serves one (v2.0) endpoint per policy; its tokens say `ver: "1.0"` whatever, so versions do not apply.
  const versions = options.tokenVersions ?? defaultTokenVersions(signingKeys) ?? (b2cPolicies === null ? [1, 2] : [2])
  if (!Array.isArray(versions) || versions.length === 0 || !versions.every((v) => v === 1 || v === 2)) {
    throw new EntraConfigError('tokenVersions', 'must be a non-empty array of 1 and/or 2')
  }
  if (b2cPolicies !== null && (versions.length !== 1 || versions[0] !== 2)) {
    throw new EntraConfigError('tokenVersions', 'does not apply to B2C (b2c), whose policies have v2.0 endpoints only: leave it out')
  }

  checkSigningKeyVersions(signingKeys, versions)

  const clockTolerance = options.clockTolerance ?? 300
  if (typeof clockTolerance !== 'number' || !Number.isFinite(clockTolerance) || clockTolerance < 0) {
    throw new EntraConfigError('clockTolerance', 'must be a non-negative number of seconds')
  }
  const realm = options.realm ?? DEFAULT_REALM
  // RFC 7235 quoted-string: printable ASCII; we also refuse quotes and backslashes to keep headers simple.
  if (typeof realm !== 'string' || realm === '' || !/^[\x20-\x21\x23-\x5b\x5d-\x7e]+$/.test(realm)) {
    throw new EntraConfigError('realm', 'must be a non-empty string of printable ASCII without " or \\')
  }
  const clock = options.clock ?? (() => Date.now())
  if (typeof clock !== 'function') {
    throw new EntraConfigError('clock', 'must be a function returning milliseconds since the epoch')
  }

  return {
    tenantId: multiTenant ? tenantId.toLowerCase() : tenantId,
    clientId,
    multiTenant,
    audiences: new Set(audienceList),
    authorityHost,
    allowedTenants,
    tenantPolicy,
    b2cPolicies,
    appSpecificKeys,
    signingKeys,
    tokenVersions: new Set(versions),
    clockTolerance,
    timeoutDuration: duration(options.timeoutDuration, 5000, 'timeoutDuration'),
    cooldownDuration: duration(options.cooldownDuration, 30_000, 'cooldownDuration'),
    cacheMaxAge: duration(options.cacheMaxAge, 600_000, 'cacheMaxAge'),
    realm,
    clock,
    tokenCache: resolveTokenCacheOptions(options.tokenCache) ?? false,
    revocation: resolveRevocation(options.revocation),
    onLoadError: optionalFunction(options.onLoadError, 'onLoadError'),
    onLoad: optionalFunction(options.onLoad, 'onLoad'),
    network: resolveNetwork(options.network)
  }
}

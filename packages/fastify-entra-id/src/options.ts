import { EntraConfigError } from './errors.js'
import { DEFAULT_REALM } from './challenge.js'
import { authorityOrigin } from './url.js'
import { resolveTokenCacheOptions } from './token-cache.js'
import type { ResolvedTokenCacheOptions, TokenCacheOptions } from './token-cache.js'

/** An Entra token version: 1 (`ver: "1.0"`, issuer `https://sts.windows.net/{tid}/`) or 2 (`ver: "2.0"`). */
export type TokenVersion = 1 | 2

/** What {@link EntraIdOptions.onLoadError} is told about a failed attempt to load discovery documents and keys. */
export interface LoadAttempt {
  /** Which attempt failed: 1 for the first (at start-up), counting up until one succeeds. */
  readonly attempt: number
  /** Milliseconds until the next attempt: 1000 after the first failure, doubling up to `cooldownDuration`. */
  readonly retryInMs: number
}

/** What {@link EntraIdOptions.onLoad} is told when discovery documents and keys have loaded. */
export interface LoadSuccess {
  /** How many attempts it took: 1 when the first succeeded, more after a recovery. */
  readonly attempts: number
}

/**
 * Options of the verifier and of the plugin. Validated once, when the verifier is created (at `register`); a bad
 * value throws an {@link EntraConfigError} that names the option.
 */
export interface EntraIdOptions {
  /**
   * The tenant whose tokens the API accepts: a tenant ID (GUID) or a verified domain (`contoso.onmicrosoft.com`)
   * for a single-tenant API; `organizations` or `common` for a multi-tenant API, which then needs
   * {@link allowedTenants}. Required.
   */
  tenantId: string
  /** The API's application (client) ID, a GUID. Required. */
  clientId: string
  /**
   * Accepted `aud` values; a token's `aud` must equal one of them exactly.
   * Default: `[clientId, "api://" + clientId]`. To add an App ID URI such as `https://contoso.com/todo`, list
   * all the values you accept.
   */
  audience?: string | readonly string[] | undefined
  /**
   * Where discovery documents are read: `{authorityHost}/{tenantId}/v2.0/.well-known/openid-configuration`.
   * Default `https://login.microsoftonline.com`. National clouds: `https://login.microsoftonline.us`,
   * `https://login.chinacloudapi.cn`. `http://` is allowed only for loopback hosts (a local issuer in tests and
   * development). Must be an origin: no path, query or fragment.
   */
  authorityHost?: string | undefined
  /**
   * Multi-tenant APIs only (`tenantId` of `organizations` or `common`): the tenant IDs (GUIDs) whose tokens are
   * accepted, or `"*"` to accept every tenant, said explicitly. No default: a multi-tenant API without it fails
   * to register. Not allowed for a single-tenant API (its tenant is `tenantId`).
   */
  allowedTenants?: readonly string[] | '*' | undefined
  /**
   * Accepted token versions. Default `[1, 2]`. For v2 tokens only, set `"api": { "requestedAccessTokenVersion": 2 }`
   * in the app registration's manifest (the old manifest's `accessTokenAcceptedVersion`).
   */
  tokenVersions?: readonly TokenVersion[] | undefined
  /** Leeway for `exp` and `nbf`, in seconds. Default 300 (Microsoft.Identity.Web's default clock skew). */
  clockTolerance?: number | undefined
  /** Timeout of one discovery or JWKS HTTP request, in milliseconds. Default 5000 (jose's default). */
  timeoutDuration?: number | undefined
  /**
   * Minimum time between two key-set fetches caused by an unknown `kid`, in milliseconds; also the longest wait
   * between retries while the identity provider is unreachable. Default 30000 (jose's default).
   */
  cooldownDuration?: number | undefined
  /**
   * Age after which a loaded key set is refreshed, in milliseconds. Default 600000 (10 minutes, jose's default).
   * The refresh runs in the background and, while it fails, the keys already loaded keep serving.
   */
  cacheMaxAge?: number | undefined
  /**
   * The `realm` of `WWW-Authenticate` challenges, rendered by the Fastify plugin (the verifier itself raises
   * errors without one, see `EntraAuthError.inRealm`). Default `"api"`.
   */
  realm?: string | undefined
  /**
   * The verified-token cache: a token seen before, byte for byte, skips the signature check; `exp` and `nbf`
   * are checked again on every use, and guards still run per request. Only successful verifications are kept,
   * from a token's second verification on (tokens used once never enter). Once full, a token takes the least
   * recently used entry's place only if it was verified more often than that entry was used, so a stream of new
   * tokens cannot churn it. An entry lives no longer than its token's `exp` nor `maxAge`, and is dropped when its
   * signing key leaves the key set. Default `{ maxEntries: 10000, maxBytes: 16 MiB, maxAge: 300000 ms }`;
   * `false` turns it off.
   */
  tokenCache?: TokenCacheOptions | false | undefined
  /**
   * The clock of token checks (`exp`, `nbf`, the token cache) and of the discovery retry delay, in milliseconds
   * since the epoch. Default `Date.now`, read at each call. Key-set freshness and cooldown are jose's, which reads
   * `Date.now`: tests that move time move `Date` (`mock.timers` of `node:test`). Production code leaves it alone.
   */
  clock?: (() => number) | undefined
  /**
   * Called on every failed attempt to load discovery documents and keys (at start-up, then on each background
   * retry), with the reason and when the next attempt is. The reason is a `DiscoveryError` for a discovery
   * failure (`code` `ENTRA_DISCOVERY_REJECTED` and the `options` to check when the identity provider refused the
   * request: a configuration error), else the key-set fetch's error. Not called after `close()`; an exception it
   * throws is ignored. The plugin logs these itself. Default: none.
   */
  onLoadError?: ((error: Error, attempt: LoadAttempt) => void) | undefined
  /**
   * Called once discovery documents and keys have loaded, with the number of attempts it took (more than 1
   * after a recovery). Not called after `close()`; an exception it throws is ignored. Default: none.
   */
  onLoad?: ((success: LoadSuccess) => void) | undefined
}

/** The options after validation, with every default applied and every lookup structure built once. */
export interface ResolvedOptions {
  readonly tenantId: string
  readonly clientId: string
  readonly multiTenant: boolean
  readonly audiences: ReadonlySet<string>
  readonly authorityHost: string
  /** `null` means every tenant (said explicitly with `"*"`), or a single-tenant API. */
  readonly allowedTenants: ReadonlySet<string> | null
  readonly tokenVersions: ReadonlySet<TokenVersion>
  readonly clockTolerance: number
  readonly timeoutDuration: number
  readonly cooldownDuration: number
  readonly cacheMaxAge: number
  readonly realm: string
  readonly clock: () => number
  readonly tokenCache: ResolvedTokenCacheOptions | false
  readonly onLoadError: ((error: Error, attempt: LoadAttempt) => void) | undefined
  readonly onLoad: ((success: LoadSuccess) => void) | undefined
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
// A DNS name of at least two labels: what Entra accepts as a verified domain in the authority path.
const DOMAIN = /^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i
const MULTI_TENANT = new Set(['organizations', 'common'])

/** True when `value` is a GUID in Entra's textual form (any case). */
export function isGuid(value: unknown): value is string {
  return typeof value === 'string' && GUID.test(value)
}

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
  if (!multiTenant && !GUID.test(tenantId) && !DOMAIN.test(tenantId)) {
    throw new EntraConfigError('tenantId', 'must be a tenant ID (GUID), a verified domain, "organizations" or "common"')
  }
  if (!isGuid(clientId)) {
    throw new EntraConfigError('clientId', 'is required: the API\'s application (client) ID, a GUID')
  }

  const audienceList = options.audience === undefined
    ? [clientId, `api://${clientId}`]
    : typeof options.audience === 'string' ? [options.audience] : options.audience
  if (!Array.isArray(audienceList) || audienceList.length === 0 ||
    !audienceList.every((a: unknown) => typeof a === 'string' && a.trim() !== '' && a === a.trim())) {
    throw new EntraConfigError('audience', 'must be a non-empty string or a non-empty array of non-empty strings')
  }

  const authorityHost = authorityOrigin(options.authorityHost)

  let allowedTenants: ReadonlySet<string> | null = null
  if (multiTenant) {
    if (options.allowedTenants === undefined) {
      throw new EntraConfigError('allowedTenants',
        `is required when tenantId is "${tenantId}": list the tenant IDs to accept, or "*" to accept every tenant`)
    }
    if (options.allowedTenants !== '*') {
      const tenants: unknown = options.allowedTenants
      if (!Array.isArray(tenants) || tenants.length === 0 || !tenants.every(isGuid)) {
        throw new EntraConfigError('allowedTenants', 'must be "*" or a non-empty array of tenant IDs (GUIDs)')
      }
      allowedTenants = new Set(tenants.map((t) => t.toLowerCase()))
    }
  } else if (options.allowedTenants !== undefined) {
    throw new EntraConfigError('allowedTenants',
      'applies only to multi-tenant APIs (tenantId "organizations" or "common"); a single-tenant API accepts only tenantId')
  }

  const versions = options.tokenVersions ?? [1, 2]
  if (!Array.isArray(versions) || versions.length === 0 || !versions.every((v) => v === 1 || v === 2)) {
    throw new EntraConfigError('tokenVersions', 'must be a non-empty array of 1 and/or 2')
  }

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
    tokenVersions: new Set(versions),
    clockTolerance,
    timeoutDuration: duration(options.timeoutDuration, 5000, 'timeoutDuration'),
    cooldownDuration: duration(options.cooldownDuration, 30_000, 'cooldownDuration'),
    cacheMaxAge: duration(options.cacheMaxAge, 600_000, 'cacheMaxAge'),
    realm,
    clock,
    tokenCache: resolveTokenCacheOptions(options.tokenCache) ?? false,
    onLoadError: optionalFunction(options.onLoadError, 'onLoadError'),
    onLoad: optionalFunction(options.onLoad, 'onLoad')
  }
}

/** `value` when it is a function or undefined; else throws {@link EntraConfigError} naming `option`. */
export function optionalFunction<T extends (...args: never[]) => unknown>(value: T | undefined, option: string): T | undefined {
  if (value !== undefined && typeof value !== 'function') throw new EntraConfigError(option, 'must be a function')
  return value
}

function duration(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new EntraConfigError(option, 'must be a non-negative integer number of milliseconds')
  }
  return value
}

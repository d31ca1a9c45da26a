import { EntraConfigError } from '../../util/config-error.js'
import { DEFAULT_REALM } from '../errors/challenge.js'
import { authorityOrigin } from '../../util/url.js'
import { resolveTokenCacheOptions } from '../token-cache/cache-options.js'
import type { ResolvedTokenCacheOptions, TokenCacheOptions } from '../token-cache/cache-options.js'

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
   * {@link allowedTenants}. Microsoft Entra External ID: the external tenant's ID or domain
   * (`contoso.onmicrosoft.com`), with `authorityHost` `https://contoso.ciamlogin.com`. Azure AD B2C: the B2C tenant,
   * with {@link b2c}. Required.
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
   * `https://login.chinacloudapi.cn`. External ID: `https://{subdomain}.ciamlogin.com` (its tokens' issuer, whose
   * host is the tenant ID, is read from discovery). B2C: `https://{tenant}.b2clogin.com` or a custom domain. `http://` is allowed only for loopback hosts (a local issuer in tests and
   * development). Must be an origin: no path, query or fragment.
   */
  authorityHost?: string | undefined
  /**
   * Multi-tenant APIs only (`tenantId` of `organizations` or `common`): the tenant IDs (GUIDs) whose tokens are
   * accepted, `"*"` to accept every tenant, said explicitly, or a {@link TenantPolicy} function deciding per tenant
   * (a lookup of onboarded customers), whose answers are cached (see {@link allowedTenantsCache}). No default: a
   * multi-tenant API without it fails to register. Not allowed for a single-tenant API (its tenant is `tenantId`).
   */
  allowedTenants?: readonly string[] | '*' | TenantPolicy | undefined
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
   * How long and how many answers of an {@link allowedTenants} function are kept. Default
   * `{ maxEntries: 1000, maxAge: 300000 }`: up to 1000 allowed and 1000 refused tenants (kept apart, so a stream of
   * unknown tenants never pushes out the allowed ones), each answer for 5 minutes. Only with a function.
   */
  allowedTenantsCache?: TenantPolicyCacheOptions | undefined
  /**
   * Azure AD B2C: the user flows (policies) whose tokens the API accepts. `tenantId` is then the B2C tenant
   * (`contoso.onmicrosoft.com` or its GUID) and `authorityHost` is required: `https://contoso.b2clogin.com` or the
   * tenant's custom domain. Each policy's discovery document is read at
   * `{authorityHost}/{tenantId}/{policy}/v2.0/.well-known/openid-configuration`. Default: none (Entra ID).
   */
  b2c?: B2cOptions | undefined
  /**
   * Read the signing keys published for this application only: discovery at `...openid-configuration?appid=
   * {clientId}`, whose `jwks_uri` carries the same `appid`. Entra signs the tokens of an application with a
   * claims-mapping policy (or a custom signing key) with keys published only there. Default `false`. Not with `b2c`.
   */
  appSpecificKeys?: boolean | undefined
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

/**
 * Whether a tenant may call a multi-tenant API, asked with its tenant ID (lower case) once a token of that tenant
 * has verified (signature, issuer, audience, times): `true` or `false`, or a promise of one (a database lookup).
 * A thrown error, a rejection or any other answer is a failed lookup: the request is answered 503 with
 * `Retry-After` (`ENTRA_TENANT_LOOKUP_FAILED`), and nothing is cached.
 */
export type TenantPolicy = (tenantId: string) => boolean | Promise<boolean>

/** Options of {@link EntraIdOptions.allowedTenantsCache}. */
export interface TenantPolicyCacheOptions {
  /** Most allowed tenants kept, and most refused ones (two lists). Default 1000. */
  maxEntries?: number | undefined
  /** How long one answer is kept, in milliseconds. Default 300000 (5 minutes). */
  maxAge?: number | undefined
}

/** Options of {@link EntraIdOptions.b2c}. */
export interface B2cOptions {
  /**
   * The user flows or custom policies whose tokens are accepted, e.g. `['B2C_1_signupsignin']`: at least one,
   * letters, digits, `_`, `-` and `.`; matched without regard to case, as B2C does.
   */
  policies: readonly string[]
}

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
  readonly tenantPolicy: { readonly decide: TenantPolicy, readonly maxEntries: number, readonly maxAge: number } | null
  /** B2C's policies, as configured (their case kept for URLs), or null for Entra ID. */
  readonly b2cPolicies: readonly string[] | null
  readonly appSpecificKeys: boolean
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

  let allowedTenants: ReadonlySet<string> | null = null
  let tenantPolicy: ResolvedOptions['tenantPolicy'] = null
  if (multiTenant) {
    if (options.allowedTenants === undefined) {
      throw new EntraConfigError('allowedTenants',
        `is required when tenantId is "${tenantId}": list the tenant IDs to accept, "*" to accept every tenant, or a function deciding per tenant`)
    }
    if (typeof options.allowedTenants === 'function') {
      tenantPolicy = resolveTenantPolicy(options.allowedTenants, options.allowedTenantsCache)
    } else if (options.allowedTenants !== '*') {
      const tenants: unknown = options.allowedTenants
      if (!Array.isArray(tenants) || tenants.length === 0 || !tenants.every(isGuid)) {
        throw new EntraConfigError('allowedTenants', 'must be "*", a non-empty array of tenant IDs (GUIDs), or a function of the tenant ID')
      }
      allowedTenants = new Set(tenants.map((t) => t.toLowerCase()))
    }
  } else if (options.allowedTenants !== undefined) {
    throw new EntraConfigError('allowedTenants',
      'applies only to multi-tenant APIs (tenantId "organizations" or "common"); a single-tenant API accepts only tenantId')
  }
  if (tenantPolicy === null && options.allowedTenantsCache !== undefined) {
    throw new EntraConfigError('allowedTenantsCache', 'applies only when allowedTenants is a function')
  }

  const b2cPolicies = resolveB2c(options, multiTenant)
  const appSpecificKeys = options.appSpecificKeys ?? false
  if (typeof appSpecificKeys !== 'boolean') throw new EntraConfigError('appSpecificKeys', 'must be true or false')
  if (appSpecificKeys && b2cPolicies !== null) {
    throw new EntraConfigError('appSpecificKeys', 'does not apply to B2C (b2c): B2C publishes no application-specific keys')
  }

  // B2C serves one (v2.0) endpoint per policy; its tokens say `ver: "1.0"` whatever, so versions do not apply.
  const versions = options.tokenVersions ?? (b2cPolicies === null ? [1, 2] : [2])
  if (!Array.isArray(versions) || versions.length === 0 || !versions.every((v) => v === 1 || v === 2)) {
    throw new EntraConfigError('tokenVersions', 'must be a non-empty array of 1 and/or 2')
  }
  if (b2cPolicies !== null && (versions.length !== 1 || versions[0] !== 2)) {
    throw new EntraConfigError('tokenVersions', 'does not apply to B2C (b2c), whose policies have v2.0 endpoints only: leave it out')
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
    tenantPolicy,
    b2cPolicies,
    appSpecificKeys,
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

/** B2C policy names: what B2C accepts in a user flow's or custom policy's name, as it appears in the URL path. */
const POLICY = /^[A-Za-z0-9_.-]{1,128}$/

function resolveB2c(options: EntraIdOptions, multiTenant: boolean): readonly string[] | null {
  const b2c: unknown = options.b2c
  if (b2c === undefined) return null
  if (b2c === null || typeof b2c !== 'object') throw new EntraConfigError('b2c', 'must be an object { policies: [...] }')
  const policies = (b2c as { policies?: unknown }).policies
  if (!Array.isArray(policies) || policies.length === 0 ||
    !policies.every((p: unknown) => typeof p === 'string' && POLICY.test(p))) {
    throw new EntraConfigError('b2c.policies', 'must be a non-empty array of user-flow or policy names such as "B2C_1_signupsignin"')
  }
  const names = policies as string[]
  if (new Set(names.map((p) => p.toLowerCase())).size !== names.length) {
    throw new EntraConfigError('b2c.policies', 'must not name a policy twice (B2C policy names ignore case)')
  }
  if (multiTenant) {
    throw new EntraConfigError('tenantId', 'must be the B2C tenant (contoso.onmicrosoft.com or its GUID) with b2c, not "organizations" or "common"')
  }
  if (options.authorityHost === undefined) {
    throw new EntraConfigError('authorityHost', 'is required with b2c: https://<tenant>.b2clogin.com or the tenant\'s custom domain')
  }
  return Object.freeze([...names])
}

function resolveTenantPolicy(decide: TenantPolicy, cache: TenantPolicyCacheOptions | undefined): NonNullable<ResolvedOptions['tenantPolicy']> {
  if (cache !== undefined && (cache === null || typeof cache !== 'object')) {
    throw new EntraConfigError('allowedTenantsCache', 'must be an object { maxEntries, maxAge }')
  }
  const maxEntries = cache?.maxEntries ?? 1000
  if (typeof maxEntries !== 'number' || !Number.isInteger(maxEntries) || maxEntries < 1) {
    throw new EntraConfigError('allowedTenantsCache.maxEntries', 'must be a positive integer')
  }
  return { decide, maxEntries, maxAge: duration(cache?.maxAge, 300_000, 'allowedTenantsCache.maxAge') }
}

function duration(value: number | undefined, fallback: number, option: string): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new EntraConfigError(option, 'must be a non-negative integer number of milliseconds')
  }
  return value
}

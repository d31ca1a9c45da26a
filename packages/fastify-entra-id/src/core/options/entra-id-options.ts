// The options a user gives the verifier and the plugin, as types with their documentation; resolve-options.ts
// checks them.

import type { TokenCacheOptions } from '../token-cache/cache-options.js'
import type { SigningKeysOptions } from './signing-keys-options.js'
import type { NetworkOptions } from '../network/network-options.js'
import type { RevocationOptions } from './revocation-options.js'

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
   * How the plugin's requests (discovery, key sets, and fastify-entra-id/downstream's) reach the identity provider:
   * a forward proxy, extra trusted CA certificates, or a fetch of your own. Default: direct, unless the standard
   * proxy variables (`HTTPS_PROXY`, `HTTP_PROXY`, `NO_PROXY`) name a proxy. See {@link NetworkOptions}.
   */
  network?: NetworkOptions | undefined
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
   * Signing keys and issuers given instead of discovered, for closed networks and disconnected clouds: no
   * discovery document or key set is fetched, ever. See {@link SigningKeysOptions}. Not with `b2c` or
   * `appSpecificKeys`. Default: none (discovery at `authorityHost`).
   */
  signingKeys?: SigningKeysOptions | undefined
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
   * The application's own deny-list: a check asked about each verified token (its `oid`, `sub`, `uti`, `sid`,
   * `tid` and client, never the token), before it is accepted and on every use of it from the token cache, with
   * its answers cached for `maxAge` (the bound within which a revocation takes effect). A revoked token is 401
   * `ENTRA_TOKEN_REVOKED`; a failed check is 503 `ENTRA_REVOCATION_CHECK_FAILED` unless `failOpen`. Default: none
   * (and no per-request work).
   */
  revocation?: RevocationOptions | undefined
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

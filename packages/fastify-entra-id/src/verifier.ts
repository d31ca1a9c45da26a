import { InvalidTokenError, KeysUnavailableError } from './errors.js'
import type { InvalidTokenCode } from './errors.js'
import { DiscoveryError, discoveryUrl, fetchOpenIdMetadata } from './discovery.js'
import type { OpenIdMetadata } from './discovery.js'
import { KeySet, NoMatchingKeyError } from './key-set.js'
import { MAX_JWS_LENGTH, decodeJws, verifyRs256 } from './jws.js'
import { TokenCache } from './token-cache.js'
import { isGuid, resolveOptions } from './options.js'
import type { EntraIdOptions, ResolvedOptions, TokenVersion } from './options.js'
import { toIdentity } from './identity.js'
import type { EntraAccessTokenClaims, EntraIdentity } from './identity.js'

// Header parameters that make a token name its own key. Only the tenant's JWKS is trusted (RFC 8725 §3.10).
const KEY_BEARING_HEADERS = ['jwk', 'jku', 'x5u', 'x5c'] as const
const TEMPLATE = '{tenantid}'

interface Metadata {
  readonly v2: OpenIdMetadata
  readonly v1: OpenIdMetadata | undefined
  readonly keys: { readonly 1?: KeySet, readonly 2: KeySet }
}

/**
 * Verifies Entra ID access tokens: made once (at start-up), then asked for each request. Knows nothing of HTTP
 * frameworks.
 *
 * @example
 * ```ts
 * const verifier = EntraTokenVerifier.create({ tenantId, clientId })
 * await verifier.hydrate()                     // discovery + keys, before traffic
 * const identity = await verifier.verify(token) // throws InvalidTokenError or KeysUnavailableError
 * ```
 */
export class EntraTokenVerifier {
  /** The validated options. */
  readonly options: ResolvedOptions
  readonly #cache: TokenCache<EntraIdentity> | null
  #metadata: Metadata | null = null
  #keySets: readonly KeySet[] = []
  #loading: Promise<void> | null = null
  #ready = false
  #failures = 0
  /** Why the last attempt to load failed, for the `cause` of the 503s answered until the next attempt. */
  #lastFailure: unknown = undefined
  #nextAttemptAt = Number.NEGATIVE_INFINITY
  #retryTimer: NodeJS.Timeout | null = null
  #closed = false

  private constructor(options: ResolvedOptions) {
    this.options = options
    this.#cache = options.tokenCache === false ? null : new TokenCache(options.tokenCache)
  }

  /** Validates `options` (throws {@link EntraConfigError} naming a bad one) and makes a verifier. No I/O. */
  static create(options: EntraIdOptions): EntraTokenVerifier {
    return new EntraTokenVerifier(resolveOptions(options))
  }

  /**
   * True once discovery documents and every key set have loaded; stays true while an identity-provider outage
   * is served from the keys already loaded.
   */
  get isReady(): boolean {
    return this.#ready
  }

  /**
   * Loads discovery documents and keys now (concurrent calls share one load). On failure, rejects with
   * {@link KeysUnavailableError} (whose `cause` says why) and keeps retrying in the background with a growing
   * delay (1 s doubling up to `cooldownDuration`) until it succeeds or {@link close} is called. Every failed
   * attempt is reported to the `onLoadError` option, and the success to `onLoad`.
   */
  hydrate(): Promise<void> {
    if (this.#ready) return Promise.resolve()
    this.#loading ??= this.#load().finally(() => { this.#loading = null })
    return this.#loading
  }

  /** How many verified tokens the token cache holds now (0 when it is off). */
  get cachedTokens(): number {
    return this.#cache?.size ?? 0
  }

  /** Stops background retries. Safe to call more than once. */
  close(): void {
    this.#closed = true
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer)
    this.#retryTimer = null
  }

  /**
   * Verifies a compact JWS access token and returns the caller's identity.
   *
   * @throws {@link InvalidTokenError} (401) when the token is not a valid access token for this API.
   * @throws {@link KeysUnavailableError} (503) when keys cannot be loaded from the identity provider.
   */
  async verify(token: string): Promise<EntraIdentity> {
    const opts = this.options
    const now = opts.clock()
    if (typeof token !== 'string' || token.length > MAX_JWS_LENGTH) {
      throw this.#invalid('ENTRA_TOKEN_MALFORMED', 'The token is not a valid JWT')
    }
    const cached = this.#cachedAt(token, now)
    if (cached !== undefined) return cached

    const metadata = this.#ready ? this.#metadata as Metadata : await this.#whenReady()
    const jws = decodeJws(token)
    if (jws === null) throw this.#invalid('ENTRA_TOKEN_MALFORMED', 'The token is not a valid JWT')
    const { header, payload: claims } = jws
    // Entra signs access tokens with RS256 only; refusing others first rules out "none" and HMAC-with-public-key.
    if (header.alg !== 'RS256') {
      throw this.#invalid('ENTRA_TOKEN_UNSUPPORTED_ALGORITHM', 'The token must be signed with RS256')
    }
    for (const name of KEY_BEARING_HEADERS) {
      if (name in header) throw this.#invalid('ENTRA_TOKEN_UNTRUSTED_KEY', 'The token names a signing key the API does not trust')
    }
    // RFC 7515 §4.1.11: extensions we do not implement must be refused, and b64=false (RFC 7797) changes what
    // is signed. Entra uses neither.
    if ('crit' in header || 'b64' in header) {
      throw this.#invalid('ENTRA_TOKEN_MALFORMED', 'The token uses an unsupported header extension (crit)')
    }
    const kid = header.kid
    if (typeof kid !== 'string' || kid === '') {
      throw this.#invalid('ENTRA_TOKEN_MALFORMED', 'The token header has no key ID (kid)')
    }

    // The key is found by `kid` alone, in the set of the version the token claims (`ver`, unverified): a v1
    // token with a v1 set, anything else with the v2 set. Only a verified token learns what the API accepts (its
    // audience, tenants, issuers, versions), so every claim is checked after the signature; when the claims pass,
    // `ver` matches the verified issuer's version, so the set used is that version's set.
    const keySet = (claims.ver === '1.0' ? metadata.keys[1] : undefined) ?? metadata.keys[2]
    let key = keySet.cached(kid, now)
    if (key === undefined) {
      try {
        key = await keySet.refetchFor(kid, now)
      } catch (error) {
        if (error instanceof NoMatchingKeyError) {
          throw this.#invalid('ENTRA_TOKEN_UNKNOWN_KEY', 'The token was signed with a key the tenant does not publish', error)
        }
        throw error
      }
    }
    if (!verifyRs256(jws, key.key)) {
      throw this.#invalid('ENTRA_TOKEN_INVALID_SIGNATURE', 'The token signature is invalid')
    }

    const { iss, tid, aud, ver } = claims
    if (typeof iss !== 'string') throw this.#invalid('ENTRA_TOKEN_INVALID_ISSUER', 'The token has no issuer')
    if (!isGuid(tid)) throw this.#invalid('ENTRA_TOKEN_INVALID_CLAIMS', 'The token has no valid tenant ID (tid)')

    const v2Issuer = fill(metadata.v2.issuer, tid)
    let version: TokenVersion
    if (iss === v2Issuer) {
      version = 2
    } else if (metadata.v1 !== undefined && iss === fill(metadata.v1.issuer, tid)) {
      version = 1
    } else if (metadata.v1 === undefined && ver === '1.0') {
      // v1 tokens are not accepted, so the v1 issuer was never read: say what is wrong with the token.
      throw this.#invalid('ENTRA_TOKEN_VERSION_MISMATCH', 'This API does not accept v1.0 tokens')
    } else {
      // Nothing of the accepted issuers is said: a wrong host or port is as likely as a wrong tenant.
      throw this.#invalid('ENTRA_TOKEN_INVALID_ISSUER', 'The token\'s issuer (iss) is not one this API accepts')
    }
    if (!opts.tokenVersions.has(version)) {
      throw this.#invalid('ENTRA_TOKEN_VERSION_MISMATCH', `This API does not accept v${version}.0 tokens`)
    }
    if (ver !== (version === 2 ? '2.0' : '1.0')) {
      throw this.#invalid('ENTRA_TOKEN_VERSION_MISMATCH', 'The token version (ver) does not match its issuer')
    }
    if (opts.allowedTenants !== null && !opts.allowedTenants.has(tid.toLowerCase())) {
      throw this.#invalid('ENTRA_TOKEN_TENANT_NOT_ALLOWED', 'The token\'s tenant is not allowed to call this API')
    }
    // RFC 7519 allows an array, but Entra issues one audience; an array could smuggle a second API's audience.
    if (typeof aud !== 'string' || !opts.audiences.has(aud)) {
      throw this.#invalid('ENTRA_TOKEN_INVALID_AUDIENCE', 'The token is not meant for this API (audience)')
    }
    const timeError = this.#timeValid(claims, now)
    if (timeError !== null) throw timeError

    // Microsoft's signing-key issuer validation: a key that names an issuer signs only for that issuer. Entra
    // puts the v2 issuer on its keys, so a v1 token matches through the v2 form of its issuer (as
    // Microsoft.IdentityModel's AadIssuerValidator does).
    if (key.issuer !== undefined) {
      const expected = fill(key.issuer, tid)
      if (expected !== iss && !(version === 1 && expected === v2Issuer)) {
        throw this.#invalid('ENTRA_TOKEN_INVALID_ISSUER', 'The token\'s issuer does not match its signing key')
      }
    }

    const { scp, roles } = claims
    if (scp !== undefined && typeof scp !== 'string') {
      throw this.#invalid('ENTRA_TOKEN_INVALID_CLAIMS', 'The token\'s scp claim is not a string')
    }
    if (roles !== undefined && !(Array.isArray(roles) && roles.every((r) => typeof r === 'string'))) {
      throw this.#invalid('ENTRA_TOKEN_INVALID_CLAIMS', 'The token\'s roles claim is not an array of strings')
    }
    // Microsoft.Identity.Web refuses tokens with neither: an ID token, or a token for another purpose.
    if ((scp === undefined || scp.trim() === '') && (roles === undefined || roles.length === 0)) {
      throw this.#invalid('ENTRA_TOKEN_NOT_ACCESS_TOKEN', 'The token carries no scopes (scp) or app roles (roles): it is not an access token for this API')
    }
    const identity = toIdentity(claims as unknown as EntraAccessTokenClaims, version)
    this.#cache?.set(token, identity, kid, ((claims.exp as number) + opts.clockTolerance) * 1000, now, jws.payloadLength)
    return identity
  }

  /**
   * The identity of `token` when it was verified before and is still within `exp`/`nbf`, synchronously (no I/O,
   * no signature check); else undefined, and {@link verify} must decide. Lets a framework adapter answer a
   * repeated token without a promise.
   */
  cachedIdentity(token: string): EntraIdentity | undefined {
    return this.#cachedAt(token, this.options.clock())
  }

  #cachedAt(token: string, now: number): EntraIdentity | undefined {
    // A hit is a token verified before, byte for byte: only time can have made it invalid since.
    const cached = this.#cache?.get(token, now)
    if (cached === undefined || this.#timeValid(cached.claims, now) !== null) return undefined
    // Cached tokens skip the key lookup, which is where stale keys are noticed: refresh from here too, so that
    // keys leaving the set (and the cache entries they vouch for) go even under repeated tokens.
    for (const set of this.#keySets) set.refreshIfStale(now)
    return cached
  }

  /**
   * `exp` (required) and `nbf` (optional) against `now`, with `clockTolerance`; `iat`, when present, must be a
   * number. The same arithmetic as jose's JWT claims set validation (RFC 7519 §4.1.4, §4.1.5).
   */
  #timeValid(claims: Readonly<Record<string, unknown>>, now: number): InvalidTokenError | null {
    const { exp, nbf, iat } = claims
    const seconds = Math.floor(now / 1000)
    const tolerance = this.options.clockTolerance
    if (!isNumericDate(exp)) {
      return this.#invalid('ENTRA_TOKEN_INVALID_CLAIMS', 'The token has no valid expiry (exp)')
    }
    if (nbf !== undefined && !isNumericDate(nbf)) {
      return this.#invalid('ENTRA_TOKEN_INVALID_CLAIMS', 'The token\'s nbf claim is invalid')
    }
    if (iat !== undefined && !isNumericDate(iat)) {
      return this.#invalid('ENTRA_TOKEN_INVALID_CLAIMS', 'The token\'s iat claim is invalid')
    }
    if (exp <= seconds - tolerance) return this.#invalid('ENTRA_TOKEN_EXPIRED', 'The token expired')
    if (nbf !== undefined && nbf > seconds + tolerance) {
      return this.#invalid('ENTRA_TOKEN_NOT_YET_VALID', 'The token is not valid yet (nbf)')
    }
    return null
  }

  async #whenReady(): Promise<Metadata> {
    if (!this.#ready) {
      const now = this.options.clock()
      if (this.#loading === null && now < this.#nextAttemptAt) {
        throw new KeysUnavailableError((this.#nextAttemptAt - now) / 1000, { cause: this.#lastFailure })
      }
      await this.hydrate()
    }
    return this.#metadata as Metadata
  }

  async #load(): Promise<void> {
    try {
      // #load runs once at a time (hydrate), and documents loaded by a failed attempt are kept: a retry after
      // a key-set failure does not fetch them again.
      const metadata = this.#metadata ??= await this.#loadMetadata()
      this.#keySets = [...new Set(Object.values(metadata.keys))]
      await Promise.all(this.#keySets.filter((set) => !set.loaded).map((set) => set.load()))
      this.#ready = true
      const attempts = this.#failures + 1
      this.#failures = 0
      this.#lastFailure = undefined
      this.#report(() => this.options.onLoad?.({ attempts }))
    } catch (cause) {
      const delay = Math.min(1000 * 2 ** this.#failures, Math.max(this.options.cooldownDuration, 1))
      this.#failures++
      this.#lastFailure = cause
      this.#nextAttemptAt = this.options.clock() + delay
      this.#scheduleRetry(delay)
      const attempt = this.#failures
      this.#report(() => this.options.onLoadError?.(cause instanceof Error ? cause : new Error(String(cause)), { attempt, retryInMs: delay }))
      throw cause instanceof KeysUnavailableError ? cause : new KeysUnavailableError(delay / 1000, { cause })
    }
  }

  /** Runs a listener from the options: not once closed, and never letting its exception break loading. */
  #report(listener: () => void): void {
    if (this.#closed) return
    try {
      listener()
    } catch {
      // A listener (a logger) that throws must not turn a load into a failure, nor a failure into another.
    }
  }

  #scheduleRetry(delay: number): void {
    if (this.#closed || this.#retryTimer !== null) return
    this.#retryTimer = setTimeout(() => {
      this.#retryTimer = null
      if (!this.#closed) this.hydrate().catch(() => { /* the next retry is already scheduled */ })
    }, delay)
    this.#retryTimer.unref()
  }

  async #loadMetadata(): Promise<Metadata> {
    const { authorityHost, tenantId, multiTenant, tokenVersions, timeoutDuration } = this.options
    const [v2, v1] = await Promise.all([
      fetchOpenIdMetadata(discoveryUrl(authorityHost, tenantId, 2), timeoutDuration),
      tokenVersions.has(1)
        ? fetchOpenIdMetadata(discoveryUrl(authorityHost, tenantId, 1), timeoutDuration)
        : Promise.resolve(undefined)
    ])
    for (const document of [v2, v1]) {
      // A multi-tenant document must carry the template, a tenant one must not: otherwise the configuration
      // and the identity provider disagree about who may issue tokens, and we refuse to guess.
      if (document !== undefined && document.issuer.includes(TEMPLATE) !== multiTenant) {
        throw new DiscoveryError(`Discovery document ${document.url} has issuer ${document.issuer}, which does not fit a ${multiTenant ? 'multi' : 'single'}-tenant configuration`,
          { options: ['tenantId', 'authorityHost'] })
      }
    }
    // Key sets are shared by URL, so two documents naming one JWKS cause one fetch.
    const byUrl = new Map<string, KeySet>()
    const keySetFor = (url: URL): KeySet => {
      let set = byUrl.get(url.href)
      if (set === undefined) {
        // Keys that leave the set must not keep vouching for the tokens they verified.
        set = new KeySet(url, this.options, (removed) => { this.#cache?.deleteKids(removed) })
        byUrl.set(url.href, set)
      }
      return set
    }
    const keys2 = keySetFor(v2.jwksUri)
    return {
      v2,
      v1,
      keys: v1 === undefined ? { 2: keys2 } : { 1: keySetFor(v1.jwksUri), 2: keys2 }
    }
  }

  #invalid(code: InvalidTokenCode, description: string, cause?: unknown): InvalidTokenError {
    return new InvalidTokenError(code, description, cause === undefined ? {} : { cause })
  }
}

/**
 * The latest NumericDate accepted, in seconds: 9999-12-31T23:59:59Z. RFC 7519 §2 allows any number, but a date
 * past this cannot be shown as an ISO 8601 date (`Date` itself ends at 8.64e12 s), so a token claiming one is
 * refused rather than breaking whatever formats `expiresAt` later.
 */
const MAX_NUMERIC_DATE = 253_402_300_799

/** A NumericDate (RFC 7519 §2): a finite number of seconds since the epoch, from 1970 to 9999. */
function isNumericDate(value: unknown): value is number {
  return typeof value === 'number' && value >= 0 && value <= MAX_NUMERIC_DATE
}

function fill(issuer: string, tid: string): string {
  return issuer.includes(TEMPLATE) ? issuer.replace(TEMPLATE, tid) : issuer
}

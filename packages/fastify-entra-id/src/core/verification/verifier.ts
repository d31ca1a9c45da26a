import { InvalidTokenError } from '../errors/refusals.js'
import type { VerificationKey } from '../keys/key-set.js'
import { MAX_JWS_LENGTH, decodeJws, verifyRs256 } from './jws.js'
import type { DecodedJws } from './jws.js'
import { TokenCache } from '../token-cache/token-cache.js'
import type { TokenCacheCodec } from '../token-cache/token-cache.js'
import type { TokenCacheStats } from '../token-cache/cache-options.js'
import { resolveOptions } from '../options/resolve-options.js'
import type { EntraIdOptions } from '../options/entra-id-options.js'
import type { ResolvedOptions } from '../options/resolve-options.js'
import { toIdentity } from '../identity/identity.js'
import type { EntraAccessTokenClaims, EntraIdentity } from '../identity/identity.js'
import { checkHeader, malformed } from './header-rules.js'
import { checkClaims } from './claim-rules.js'
import { checkTime } from './time-rules.js'
import { MetadataLoader } from './metadata-loader.js'
import type { Metadata } from './metadata-loader.js'
import { checkB2cClaims } from './b2c-rules.js'
import { keySetFor, refetchKey } from './key-selection.js'
import { TenantAdmission } from './tenant-admission.js'
import { RevocationScreen, unrevoked } from './revocation.js'
import { observeHit, traceVerification, verificationObserver, verificationTraced } from './tracing.js'
import type { TracedVerify, VerificationMessage, VerificationObserver } from './tracing.js'

/**
 * Verifies Entra ID access tokens: made once (at start-up), then asked for each request. Knows nothing of HTTP:
 * its errors say what is wrong (`code`, `message`), and an adapter renders the challenge.
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
  readonly #loader: MetadataLoader
  /** The `allowedTenants` function and its cache, or null when the tenants are a list (or any, or one). */
  readonly #tenants: TenantAdmission | null
  readonly #revocation: RevocationScreen | null
  /** {@link identify} for the tracing channel, made once rather than per traced verification. */
  readonly #traced: TracedVerify = (token, message) => this.#identify(token, message, false)
  /** The same, for a token the token cache was just asked about and did not answer. */
  readonly #missed: TracedVerify = (token, message) => this.#identify(token, message, true)

  private constructor(options: ResolvedOptions) {
    this.options = options
    this.#tenants = options.tenantPolicy === null ? null : new TenantAdmission({ ...options.tenantPolicy, clock: options.clock })
    this.#revocation = options.revocation === null ? null : new RevocationScreen(options.revocation, options.clock)
    const record = identityRecord(options.b2cPolicies === null ? undefined : options.tenantId)
    const cache = options.tokenCache === false ? null : new TokenCache<EntraIdentity>(options.tokenCache, record)
    this.#cache = cache
    // Keys that leave the set must not keep vouching for the tokens they verified.
    this.#loader = new MetadataLoader(options, (removed) => { cache?.deleteKids(removed) })
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
    return this.#loader.ready !== null
  }

  /**
   * Loads discovery documents and keys now (concurrent calls share one load). On failure, rejects with
   * {@link KeysUnavailableError} (whose `cause` says why) and keeps retrying in the background with a growing
   * delay (1 s doubling up to `cooldownDuration`) until it succeeds or {@link close} is called. Every failed
   * attempt is reported to the `onLoadError` option, and the success to `onLoad`.
   */
  hydrate(): Promise<void> {
    return this.#loader.hydrate()
  }

  /**
   * The v2 issuer of the loaded discovery document (`https://login.microsoftonline.com/{tid}/v2.0`, or with
   * `{tenantid}` for a multi-tenant API; External ID's `https://{tid}.ciamlogin.com/{tid}/v2.0`; B2C: the first
   * policy's), or `undefined` until discovery has loaded.
   */
  get v2Issuer(): string | undefined {
    return this.#loader.ready?.claims.v2Issuer
  }

  /** How many verified tokens the token cache holds now (0 when it is off). */
  get cachedTokens(): number {
    return this.#cache?.size ?? 0
  }

  /**
   * What the token cache holds (entries, estimated bytes) and has answered (hits, misses) since start; all zero
   * when it is off. For metrics: the hit rate is `hits / (hits + misses)`.
   */
  get tokenCacheStats(): TokenCacheStats {
    return this.#cache?.stats ?? { entries: 0, estimatedBytes: 0, hits: 0, misses: 0 }
  }

  /** Stops background retries. Safe to call more than once. */
  close(): void {
    this.#loader.close()
  }

  /**
   * Verifies a compact JWS access token and returns the caller's identity.
   *
   * @throws {@link InvalidTokenError} (401) when the token is not a valid access token for this API.
   * @throws {@link KeysUnavailableError} (503) when keys cannot be loaded from the identity provider.
   */
  async verify(token: string): Promise<EntraIdentity> {
    return this.identify(token)
  }

  /**
   * The identity of `token`, synchronously whenever no fetch is needed: a token in the token cache (no signature
   * check), or a new token whose signing key is loaded. Then the identity is returned, or the refusal
   * ({@link InvalidTokenError}) thrown. Only while discovery or a key set must be fetched first is the answer a
   * promise (rejected as {@link verify}'s). What a framework adapter calls on each request: one cache lookup, and
   * no promise, microtask or closure for a token that needs no I/O.
   */
  identify(token: string): EntraIdentity | Promise<EntraIdentity> {
    if (verificationTraced()) return traceVerification(this.#traced, token)
    const observer = verificationObserver()
    if (observer !== null) return this.#observed(observer, token)
    return this.#identify(token, undefined, false)
  }

  /**
   * {@link identify} when only the plugin's own metrics observe verifications: a token-cache hit is counted with
   * no message and no clock read beyond the cache's own (most requests are hits); anything else is traced as usual,
   * its timing starting after that cache lookup.
   */
  #observed(observer: VerificationObserver, token: string): EntraIdentity | Promise<EntraIdentity> {
    // With `revocation`, a hit can still be refused, or wait: the traced path decides and reports it.
    if (this.#revocation !== null || typeof token !== 'string' || token.length > MAX_JWS_LENGTH) return traceVerification(this.#traced, token)
    const cached = this.#cachedAt(token, this.options.clock())
    if (cached === undefined) return traceVerification(this.#missed, token)
    observeHit(observer, cached)
    return cached
  }

  /** `missed`: the token cache was asked about `token` a moment ago and did not answer (not asked twice, not counted twice). */
  #identify(token: string, message: VerificationMessage | undefined, missed: boolean): EntraIdentity | Promise<EntraIdentity> {
    if (typeof token !== 'string' || token.length > MAX_JWS_LENGTH) throw malformed()
    const now = this.options.clock()
    const cached = missed ? undefined : this.#cachedAt(token, now)
    if (cached !== undefined) {
      if (message !== undefined) message.cached = true
      return this.#revocation === null ? cached : this.#revocation.screen(cached)
    }
    const metadata = this.#loader.ready
    if (metadata === null) return this.#loader.whenReady().then((loaded) => this.#verifyFresh(loaded, token, now))
    return this.#verifyFresh(metadata, token, now)
  }

  /**
   * The identity of `token` when it was verified before, is still within `exp`/`nbf` and, with `revocation`, has
   * a cached answer saying it is not revoked: synchronously (no I/O, no signature check); else undefined, and
   * {@link verify} must decide.
   */
  cachedIdentity(token: string): EntraIdentity | undefined {
    return unrevoked(this.#revocation, this.#cachedAt(token, this.options.clock()))
  }

  #cachedAt(token: string, now: number): EntraIdentity | undefined {
    // A hit is a token verified before, byte for byte: only time can have made it invalid since.
    const cached = this.#cache?.get(token, now)
    if (cached === undefined || checkTime(cached.claims, this.options.clockTolerance, now) !== null) return undefined
    this.#loader.refreshIfStale()
    return cached
  }

  /**
   * Every rule, in order: the token's shape and header, its key and signature, then its claims. Synchronous
   * when the key is at hand; a promise when the key set must be refetched for the token's `kid`.
   */
  #verifyFresh(metadata: Metadata, token: string, now: number): EntraIdentity | Promise<EntraIdentity> {
    const jws = decodeJws(token)
    if (jws === null) throw malformed()
    const kid = checkHeader(jws.header)
    const keySet = keySetFor(metadata, jws.payload, kid)
    const key = keySet.cached(kid)
    if (key !== undefined) return this.#accept(metadata, jws, kid, key, now)
    return refetchKey(keySet, kid).then((fetched) => this.#accept(metadata, jws, kid, fetched, now))
  }

  #accept(metadata: Metadata, jws: DecodedJws, kid: string, key: VerificationKey, now: number): EntraIdentity | Promise<EntraIdentity> {
    if (!verifyRs256(jws, key.key)) throw new InvalidTokenError('ENTRA_TOKEN_INVALID_SIGNATURE', 'The token signature is invalid')
    const claims = jws.payload
    // Only now, with the signature verified, may a refusal describe what the API accepts.
    const b2c = metadata.b2c
    if (b2c !== undefined) checkB2cClaims(claims, b2c.claims, now, key.issuer)
    const version = b2c === undefined ? checkClaims(claims, metadata.claims, now, key.issuer) : 2
    const identity = toIdentity(claims as unknown as EntraAccessTokenClaims, version, b2c === undefined ? undefined : this.options.tenantId)
    // Last, once every other rule passed: the application's lookup runs only for tenants Entra signed for.
    const admitted = this.#tenants?.admit(identity.tenantId)
    if (admitted !== undefined) return admitted.then(() => this.#remember(jws, kid, identity, now))
    return this.#remember(jws, kid, identity, now)
  }

  /** Keeps a verified token's identity in the token cache, and returns it unless `revocation` refuses it. */
  #remember(jws: DecodedJws, kid: string, identity: EntraIdentity, now: number): EntraIdentity | Promise<EntraIdentity> {
    const claims = jws.payload
    this.#cache?.set(jws.token, identity, kid, ((claims.exp as number) + this.options.clockTolerance) * 1000, now)
    return this.#revocation === null ? identity : this.#revocation.screen(identity)
  }
}

/**
 * How the token cache keeps an identity between uses: its token version and its claims' JSON (claims that came
 * from JSON.parse, so they come back the same), from which toIdentity builds an equal identity: a B2C one when
 * the verifier is B2C's (`b2cTenant`, its configured tenant), as every identity it makes is.
 */
function identityRecord(b2cTenant: string | undefined): TokenCacheCodec<EntraIdentity> {
  return {
    encode: (identity) => `${identity.tokenVersion}${JSON.stringify(identity.claims)}`,
    decode: (record) => toIdentity(JSON.parse(record.slice(1)) as EntraAccessTokenClaims, record.startsWith('1') ? 1 : 2, b2cTenant)
  }
}

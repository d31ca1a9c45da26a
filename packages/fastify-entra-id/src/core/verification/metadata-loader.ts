import { KeysUnavailableError } from '../errors/unavailable.js'
import { DiscoveryError, b2cDiscoveryUrl, discoveryUrl, fetchOpenIdMetadata } from '../keys/discovery.js'
import type { OpenIdMetadata } from '../keys/discovery.js'
import { KeySet } from '../keys/key-set.js'
import type { ResolvedOptions } from '../options/resolve-options.js'
import type { ClaimContext } from './claim-rules.js'
import { LEGACY_B2C_ISSUER } from './b2c-rules.js'
import type { B2cClaimContext } from './b2c-rules.js'
import { TENANT_TEMPLATE } from '../../util/entra-urls.js'
import { offlineMetadata } from './offline-metadata.js'


/** What verification needs from the identity provider: the discovery documents, their key sets, the issuers. */
export interface Metadata {
  readonly v2: OpenIdMetadata
  readonly v1: OpenIdMetadata | undefined
  /** The key set of each accepted version's document (one object when both name one JWKS URL). */
  readonly keys: { readonly 1?: KeySet, readonly 2: KeySet }
  /** What claims are checked against, built once. */
  readonly claims: ClaimContext
  /** B2C: every policy's document and key set; undefined for Entra ID. */
  readonly b2c: B2cMetadata | undefined
}

/** One B2C policy's discovery document and key set. */
export interface B2cPolicyMetadata {
  readonly document: OpenIdMetadata
  readonly keys: KeySet
}

/** B2C's metadata: one document and key set per configured policy, and what B2C claims are checked against. */
export interface B2cMetadata {
  /** By lower-case policy name (B2C ignores case in policy names). */
  readonly policies: ReadonlyMap<string, B2cPolicyMetadata>
  readonly claims: B2cClaimContext
}

/**
 * Loads discovery documents and key sets, once at a time, and says whether they are ready. A failed load is
 * retried in the background with a growing delay (1 s doubling up to `cooldownDuration`); until the next attempt,
 * {@link whenReady} answers {@link KeysUnavailableError} at once. Every attempt is reported to `onLoadError` or
 * `onLoad`.
 */
export class MetadataLoader {
  readonly #options: ResolvedOptions
  readonly #onKeysRemoved: (kids: readonly string[]) => void
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

  /** `onKeysRemoved` is called with the `kid`s that left a key set, whose verifications must stop vouching. */
  constructor(options: ResolvedOptions, onKeysRemoved: (kids: readonly string[]) => void) {
    this.#options = options
    this.#onKeysRemoved = onKeysRemoved
  }

  /** The loaded metadata, or null before the first successful load (then use {@link whenReady}). */
  get ready(): Metadata | null {
    return this.#ready ? this.#metadata : null
  }

  /** Loads now (concurrent calls share one load). Rejects with {@link KeysUnavailableError} on failure. */
  hydrate(): Promise<void> {
    if (this.#ready) return Promise.resolve()
    this.#loading ??= this.#load().finally(() => { this.#loading = null })
    return this.#loading
  }

  /** The metadata, loading it if needed; during the retry delay after a failure, 503 at once. */
  async whenReady(): Promise<Metadata> {
    if (!this.#ready) {
      const now = this.#options.clock()
      if (this.#loading === null && now < this.#nextAttemptAt) {
        throw new KeysUnavailableError((this.#nextAttemptAt - now) / 1000, { cause: this.#lastFailure })
      }
      await this.hydrate()
    }
    return this.#metadata as Metadata
  }

  /**
   * Starts a background refresh of key sets older than `cacheMaxAge`. Cached tokens skip the key lookup, which
   * is where stale keys are noticed: the token cache calls this, so keys leaving the set (and the cache entries
   * they vouch for) go even under repeated tokens.
   */
  refreshIfStale(): void {
    for (const set of this.#keySets) set.refreshIfStale()
  }

  /** Stops background retries, and reports nothing more. Safe to call more than once. */
  close(): void {
    this.#closed = true
    if (this.#retryTimer !== null) clearTimeout(this.#retryTimer)
    this.#retryTimer = null
  }

  async #load(): Promise<void> {
    try {
      // #load runs once at a time (hydrate), and documents loaded by a failed attempt are kept: a retry after
      // a key-set failure does not fetch them again.
      const metadata = this.#metadata ??= await this.#loadMetadata()
      this.#keySets = [...new Set([...Object.values(metadata.keys), ...[...metadata.b2c?.policies.values() ?? []].map((p) => p.keys)])]
      await Promise.all(this.#keySets.filter((set) => !set.loaded).map((set) => set.load()))
      this.#ready = true
      const attempts = this.#failures + 1
      this.#failures = 0
      this.#lastFailure = undefined
      this.#report(() => this.#options.onLoad?.({ attempts }))
    } catch (cause) {
      const delay = Math.min(1000 * 2 ** this.#failures, Math.max(this.#options.cooldownDuration, 1))
      this.#failures++
      this.#lastFailure = cause
      this.#nextAttemptAt = this.#options.clock() + delay
      this.#scheduleRetry(delay)
      const attempt = this.#failures
      this.#report(() => this.#options.onLoadError?.(cause instanceof Error ? cause : new Error(String(cause)), { attempt, retryInMs: delay }))
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
    const options = this.#options
    if (options.signingKeys !== null) return offlineMetadata(options, options.signingKeys, this.#onKeysRemoved)
    if (options.b2cPolicies !== null) return this.#loadB2cMetadata(options.b2cPolicies)
    const { authorityHost, tenantId, multiTenant, tokenVersions, timeoutDuration, network } = options
    // Application-specific documents name the application's key set (`jwks_uri` with the same `appid`).
    const appId = options.appSpecificKeys ? options.clientId : undefined
    const [v2, v1] = await Promise.all([
      fetchOpenIdMetadata(discoveryUrl(authorityHost, tenantId, 2, appId), timeoutDuration, network.fetch),
      tokenVersions.has(1)
        ? fetchOpenIdMetadata(discoveryUrl(authorityHost, tenantId, 1, appId), timeoutDuration, network.fetch)
        : Promise.resolve(undefined)
    ])
    for (const document of [v2, v1]) {
      // A multi-tenant document must carry the template, a tenant one must not: otherwise the configuration
      // and the identity provider disagree about who may issue tokens, and we refuse to guess.
      if (document !== undefined && document.issuer.includes(TENANT_TEMPLATE) !== multiTenant) {
        throw new DiscoveryError(`Discovery document ${document.url} has issuer ${document.issuer}, which does not fit a ${multiTenant ? 'multi' : 'single'}-tenant configuration`,
          { options: ['tenantId', 'authorityHost'] })
      }
    }
    // Key sets are shared by URL, so two documents naming one JWKS cause one fetch.
    const byUrl = new Map<string, KeySet>()
    const keySetFor = (url: URL): KeySet => {
      let set = byUrl.get(url.href)
      if (set === undefined) {
        set = new KeySet(url, options, this.#onKeysRemoved)
        byUrl.set(url.href, set)
      }
      return set
    }
    const keys2 = keySetFor(v2.jwksUri)
    return {
      v2,
      v1,
      keys: v1 === undefined ? { 2: keys2 } : { 1: keySetFor(v1.jwksUri), 2: keys2 },
      claims: {
        v2Issuer: v2.issuer,
        v1Issuer: v1?.issuer,
        tokenVersions: options.tokenVersions,
        allowedTenants: options.allowedTenants,
        audiences: options.audiences,
        clockTolerance: options.clockTolerance
      },
      b2c: undefined
    }
  }

  /**
   * B2C: every policy's document, fetched concurrently; readiness needs them all (and their key sets). The first
   * policy's document stands as `v2`, for what names one issuer (protected-resource metadata).
   */
  async #loadB2cMetadata(policies: readonly string[]): Promise<Metadata> {
    const options = this.#options
    const documents = await Promise.all(policies.map((policy) =>
      fetchOpenIdMetadata(b2cDiscoveryUrl(options.authorityHost, options.tenantId, policy), options.timeoutDuration, options.network.fetch)))
    const byUrl = new Map<string, KeySet>()
    const entries = documents.map((document, i): [string, B2cPolicyMetadata] => {
      if (LEGACY_B2C_ISSUER.test(document.issuer)) {
        // Microsoft.Identity.Web refuses it too (B2CTfpIssuerNotSupported): it names the policy, so one API would
        // need an issuer per policy, and it is the form B2C keeps only for old applications.
        throw new DiscoveryError(`Discovery document ${document.url} has the legacy B2C issuer ${document.issuer} (.../tfp/{tenant}/{policy}/v2.0/), which is not accepted: in the user flow's Properties, set "Issuer (iss) claim" to the https://<domain>/<tenant ID>/v2.0/ form`)
      }
      if (document.issuer.includes(TENANT_TEMPLATE)) {
        throw new DiscoveryError(`Discovery document ${document.url} has issuer ${document.issuer}, which does not fit a B2C policy`, { options: ['authorityHost'] })
      }
      let keys = byUrl.get(document.jwksUri.href)
      if (keys === undefined) {
        keys = new KeySet(document.jwksUri, options, this.#onKeysRemoved)
        byUrl.set(document.jwksUri.href, keys)
      }
      return [(policies[i] as string).toLowerCase(), { document, keys }]
    })
    const map = new Map(entries)
    const first = entries[0]?.[1] as B2cPolicyMetadata
    return {
      v2: first.document,
      v1: undefined,
      keys: { 2: first.keys },
      claims: {
        v2Issuer: first.document.issuer,
        v1Issuer: undefined,
        tokenVersions: options.tokenVersions,
        allowedTenants: null,
        audiences: options.audiences,
        clockTolerance: options.clockTolerance
      },
      b2c: {
        policies: map,
        claims: {
          issuers: new Map(entries.map(([policy, { document }]) => [policy, document.issuer])),
          audiences: options.audiences,
          clockTolerance: options.clockTolerance
        }
      }
    }
  }
}

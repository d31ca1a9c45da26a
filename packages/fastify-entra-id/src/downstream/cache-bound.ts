import type { TokenCache } from '@azure/msal-node'

// msal-node's in-memory cache never evicts: an API answering many users would keep every token it ever got on their
// behalf (one access token per caller's token and scopes). The bound is kept through the cache's own public
// serialization, the format msal's cache plugins use: entries are dropped, never edited.

interface Entry { readonly home_account_id?: string, readonly user_assertion_hash?: string, readonly expires_on?: string, readonly cached_at?: string }
type Section = Record<string, Entry>
interface SerializedCache { AccessToken?: Section, RefreshToken?: Section, IdToken?: Section, Account?: Section, [section: string]: unknown }

/**
 * Counts the access tokens added to an msal token cache and, past `maxTokens`, drops the expired ones and then the
 * oldest, down to three quarters of the bound (so a full cache is trimmed once per quarter of the bound, not on
 * every new token), with the refresh tokens, ID tokens and accounts only they used.
 */
export class CacheBound {
  readonly #cache: TokenCache
  readonly #maxTokens: number
  #tokens = 0

  constructor(cache: TokenCache, maxTokens: number) {
    this.#cache = cache
    this.#maxTokens = maxTokens
  }

  /** How many access tokens the cache holds, as last counted. */
  get size(): number {
    return this.#tokens
  }

  /** Records one access token msal got from the network (and stored), trimming the cache when over the bound. */
  added(now: number = Date.now()): void {
    this.#tokens++
    if (this.#tokens > this.#maxTokens) this.trim(Math.floor(this.#maxTokens * 0.75), now)
  }

  /** Keeps at most `keep` unexpired access tokens, the most recently cached. */
  trim(keep: number, now: number = Date.now()): void {
    const cache = JSON.parse(this.#cache.serialize()) as SerializedCache
    const nowSeconds = Math.floor(now / 1000)
    const kept = Object.entries(cache.AccessToken ?? {})
      .filter(([, token]) => Number(token.expires_on ?? 0) > nowSeconds)
      .sort(([, a], [, b]) => Number(b.cached_at ?? 0) - Number(a.cached_at ?? 0))
      .slice(0, keep)
    cache.AccessToken = Object.fromEntries(kept)
    const assertions = new Set(kept.map(([, token]) => token.user_assertion_hash))
    cache.RefreshToken = Object.fromEntries(Object.entries(cache.RefreshToken ?? {})
      .filter(([, token]) => token.user_assertion_hash === undefined || assertions.has(token.user_assertion_hash)))
    const accounts = new Set([...Object.values(cache.AccessToken), ...Object.values(cache.RefreshToken)].map((e) => e.home_account_id))
    cache.IdToken = Object.fromEntries(Object.entries(cache.IdToken ?? {}).filter(([, token]) => accounts.has(token.home_account_id)))
    cache.Account = Object.fromEntries(Object.entries(cache.Account ?? {}).filter(([, account]) => accounts.has(account.home_account_id)))
    this.#cache.deserialize(JSON.stringify(cache))
    this.#tokens = kept.length
  }
}

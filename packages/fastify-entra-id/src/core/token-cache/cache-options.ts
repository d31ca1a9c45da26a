// What an application sets and reads of the verified-token cache: its options (validated once, at registration)
// and its counters.

import { EntraConfigError } from '../../util/config-error.js'
import { positiveInteger } from '../../util/option-checks.js'

/** Settings of the verified-token cache. */
export interface TokenCacheOptions {
  /** Most tokens kept. Default 10000. */
  maxEntries?: number | undefined
  /** Most memory the cached tokens and claims may take, estimated, in bytes. Default 16777216 (16 MiB). */
  maxBytes?: number | undefined
  /** Longest time one verification is reused, in milliseconds; never past the token's `exp`. Default 300000 (5 minutes). */
  maxAge?: number | undefined
}

/** The validated settings. */
export interface ResolvedTokenCacheOptions {
  readonly maxEntries: number
  readonly maxBytes: number
  readonly maxAge: number
}

/** Validates {@link TokenCacheOptions}; `false` turns the cache off. */
export function resolveTokenCacheOptions(value: TokenCacheOptions | false | undefined): ResolvedTokenCacheOptions | null {
  if (value === false) return null
  if (value !== undefined && (value === null || typeof value !== 'object')) {
    throw new EntraConfigError('tokenCache', 'must be false or an object { maxEntries, maxBytes, maxAge }')
  }
  return {
    maxEntries: positiveInteger(value?.maxEntries, 10_000, 'tokenCache.maxEntries'),
    maxBytes: positiveInteger(value?.maxBytes, 16 * 1024 * 1024, 'tokenCache.maxBytes'),
    maxAge: positiveInteger(value?.maxAge, 300_000, 'tokenCache.maxAge')
  }
}

/** What a cache has done since it was made, for metrics and the benchmark. */
export interface TokenCacheStats {
  /** Tokens cached now. */
  readonly entries: number
  /** Their estimated memory, in bytes (bounded by `maxBytes`). */
  readonly estimatedBytes: number
  /** Lookups answered from the cache. */
  readonly hits: number
  /** Lookups of tokens not cached (or no longer valid), which were then verified in full. */
  readonly misses: number
}

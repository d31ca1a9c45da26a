import { pathToFileURL } from 'node:url'
import { fileSource, valueSource } from '../keys/key-file.js'
import { KeySet } from '../keys/key-set.js'
import type { OpenIdMetadata } from '../keys/discovery.js'
import type { ResolvedOptions } from '../options/resolve-options.js'
import type { ResolvedSigningKeys } from '../options/signing-keys-options.js'

/** Where keys given as a value are said to come from, in key-set events and errors. */
const VALUE_URL = 'urn:fastify-entra-id:signing-keys'

/**
 * The metadata (the loader's `Metadata`) of keys and issuers given in the options (`signingKeys`): what discovery would have
 * yielded, the issuers stated and one key set, so the verifier's rules run unchanged. Makes no network call: the
 * key set reads the given value, or the file (see {@link fileSource}) at most every `fileCheckInterval`.
 */
export function offlineMetadata(options: ResolvedOptions, given: ResolvedSigningKeys, onKeysRemoved: (kids: readonly string[]) => void) {
  const url = given.file === null ? new URL(VALUE_URL) : pathToFileURL(given.file)
  const keys = new KeySet(url, {
    timeoutDuration: options.timeoutDuration,
    cooldownDuration: options.cooldownDuration,
    // A value never changes: one read. A file is checked at most every fileCheckInterval.
    cacheMaxAge: given.file === null ? Number.POSITIVE_INFINITY : given.fileCheckInterval
  }, onKeysRemoved, given.keys === null ? fileSource(given.file as string) : valueSource(given.keys))
  const document = (issuer: string): OpenIdMetadata => ({ url: url.href, issuer, jwksUri: url })
  // As with discovery, the v1 issuer counts only when v1.0 tokens are accepted.
  const v1Issuer = options.tokenVersions.has(1) ? given.v1Issuer : undefined
  return {
    v2: document(given.issuer),
    v1: v1Issuer === undefined ? undefined : document(v1Issuer),
    keys: v1Issuer === undefined ? { 2: keys } : { 1: keys, 2: keys },
    claims: {
      v2Issuer: given.issuer,
      v1Issuer,
      tokenVersions: options.tokenVersions,
      allowedTenants: options.allowedTenants,
      audiences: options.audiences,
      clockTolerance: options.clockTolerance
    },
    b2c: undefined
  }
}

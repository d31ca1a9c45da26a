// Which key set, and which key of it, verifies a token: chosen from its unverified header and claims, before any
// signature is checked; the verifier then holds the token to the chosen key's issuer.

import { InvalidTokenError } from '../errors/refusals.js'
import { NoMatchingKeyError } from '../keys/key-set.js'
import type { KeySet, VerificationKey } from '../keys/key-set.js'
import type { B2cMetadata, Metadata } from './metadata-loader.js'
import { policyOf } from './b2c-rules.js'

/**
 * The key set of the version the token claims (`ver`, unverified): a v1 token's is the v1 set, anything else's
 * the v2 set. Nothing here depends on what the API accepts, and when the claims later pass, `ver` matches the
 * verified issuer's version, so the set used was that version's set. B2C: the set of the policy it names.
 */
export function keySetFor(metadata: Metadata, payload: Readonly<Record<string, unknown>>, kid: string): KeySet {
  if (metadata.b2c !== undefined) return b2cKeySetFor(metadata.b2c, payload, kid)
  return (payload.ver === '1.0' ? metadata.keys[1] : undefined) ?? metadata.keys[2]
}

/**
 * The key set of the B2C policy the token names (`tfp` or `acr`, unverified; the claims check holds it to that
 * policy's issuer once verified). A token of no configured policy is checked with whichever policy's set has its
 * key at hand (else the first's), so that it is refused for its policy only once its signature verified, and a
 * forged one learns nothing of the policies configured.
 */
function b2cKeySetFor(b2c: B2cMetadata, payload: Readonly<Record<string, unknown>>, kid: string): KeySet {
  const policy = policyOf(payload)
  const own = policy === undefined ? undefined : b2c.policies.get(policy)
  if (own !== undefined) return own.keys
  let first: KeySet | undefined
  for (const { keys } of b2c.policies.values()) {
    first ??= keys
    if (keys.cached(kid) !== undefined) return keys
  }
  return first as KeySet
}

/**
 * The key for a `kid` the set does not have at hand, after at most one rate-limited refetch.
 *
 * @throws {@link InvalidTokenError} `ENTRA_TOKEN_UNKNOWN_KEY`, or {@link KeysUnavailableError} from the set.
 */
export async function refetchKey(keySet: KeySet, kid: string): Promise<VerificationKey> {
  try {
    return await keySet.refetchFor(kid)
  } catch (error) {
    if (error instanceof NoMatchingKeyError) {
      throw new InvalidTokenError('ENTRA_TOKEN_UNKNOWN_KEY', 'The token was signed with a key the tenant does not publish', { cause: error })
    }
    throw error
  }
}

// The `signingKeys` option: keys and issuers given, for closed networks and disconnected clouds, where the
// verifier makes no network call at all (no discovery, no key-set fetch).

import { resolve } from 'node:path'
import { checkJwkSet, parseKeyText } from './key-text.js'
import type { JwkSet } from './key-text.js'
import { EntraConfigError } from '../../util/config-error.js'
import { TENANT_TEMPLATE } from '../../util/entra-urls.js'
import { httpsUrl } from '../../util/https-url.js'
import { duration } from '../../util/option-checks.js'

/**
 * Signing keys and issuers given in the options instead of discovered: no discovery document and no key set is
 * fetched, ever. Tokens are held to the same rules as with discovery (issuer, audience, version, tenant, and
 * the signing key's `issuer` field when a JWKS key carries one). Give exactly one of `keys` and `file`.
 *
 * @example
 * ```ts
 * signingKeys: {
 *   issuer: 'https://login.microsoftonline.com/{tenant ID}/v2.0',
 *   file: '/etc/entra/keys.json'   // the tenant's JWKS, or PEM public keys
 * }
 * ```
 */
export interface SigningKeysOptions {
  /**
   * The `iss` of v2.0 tokens, as the tenant's v2.0 discovery document says it: for Entra ID
   * `https://login.microsoftonline.com/{tenant ID}/v2.0` (a national cloud's host in that cloud), with `{tenantid}`
   * in place of the tenant ID for a multi-tenant API (`tenantId` `organizations` or `common`), and only then.
   * Required.
   */
  issuer: string
  /**
   * The `iss` of v1.0 tokens (`https://sts.windows.net/{tenant ID}/`). Without it, only v2.0 tokens are accepted
   * (`tokenVersions` defaults to `[2]`, and naming 1 there is an error).
   */
  v1Issuer?: string | undefined
  /**
   * The keys as a value: a JWKS document (an object, or its JSON text; the tenant's `jwks_uri` document as it is)
   * or PEM text of RSA public keys or X.509 certificates. Fixed until the process restarts: use `file` to replace
   * keys without a restart.
   */
  keys?: string | { keys: readonly object[] } | undefined
  /**
   * A file holding a JWKS document or PEM (as `keys`). It is read when the verifier loads, then checked for a
   * change (modification time, size, inode) at most every `fileCheckInterval`, on a request: a replaced file is
   * in use from the first request after that interval (a token signed with a new key waits for that read; a
   * removed key's tokens, cached ones included, are refused once it completed). A file that cannot be read or
   * parsed then leaves the keys already loaded in use.
   */
  file?: string | undefined
  /** How often at most `file` is checked for a change, in milliseconds. Default 60000 (1 minute). */
  fileCheckInterval?: number | undefined
}

/** {@link SigningKeysOptions} after validation. */
export interface ResolvedSigningKeys {
  readonly issuer: string
  readonly v1Issuer: string | undefined
  /** The checked keys of `keys`, or null with a file. */
  readonly keys: JwkSet | null
  /** The absolute path of `file`, or null with keys given as a value. */
  readonly file: string | null
  /** Milliseconds. */
  readonly fileCheckInterval: number
}

/** What the other options say that `signingKeys` depends on. */
export interface SigningKeysContext {
  readonly multiTenant: boolean
  readonly b2c: boolean
  readonly appSpecificKeys: boolean
}

/** Validates `signingKeys` (undefined: null, discovery as usual). Throws {@link EntraConfigError} naming the option. */
export function resolveSigningKeys(value: SigningKeysOptions | undefined, context: SigningKeysContext): ResolvedSigningKeys | null {
  if (value === undefined) return null
  if (value === null || typeof value !== 'object') {
    throw new EntraConfigError('signingKeys', 'must be an object: { issuer, file } or { issuer, keys }')
  }
  if (context.b2c) throw new EntraConfigError('signingKeys', 'does not apply to B2C (b2c), whose issuers are per policy')
  if (context.appSpecificKeys) throw new EntraConfigError('signingKeys', 'replaces discovery, so appSpecificKeys does not apply: give the application\'s keys in signingKeys')
  const issuer = checkIssuer(value.issuer, 'signingKeys.issuer', context.multiTenant)
  const v1Issuer = value.v1Issuer === undefined ? undefined : checkIssuer(value.v1Issuer, 'signingKeys.v1Issuer', context.multiTenant)
  if ((value.keys === undefined) === (value.file === undefined)) {
    throw new EntraConfigError('signingKeys', 'needs exactly one of "keys" (a JWKS document or PEM text) and "file" (a path to one)')
  }
  let keys: JwkSet | null = null
  if (value.keys !== undefined) {
    try {
      keys = typeof value.keys === 'string' ? parseKeyText(value.keys) : checkJwkSet(value.keys)
    } catch (error) {
      throw new EntraConfigError('signingKeys.keys', (error as Error).message)
    }
  }
  if (value.file !== undefined && (typeof value.file !== 'string' || value.file.trim() === '')) {
    throw new EntraConfigError('signingKeys.file', 'must be the path of a file holding a JWKS document or PEM public keys')
  }
  return {
    issuer,
    v1Issuer,
    keys,
    // Resolved now: a later change of the working directory must not change which file is read.
    file: value.file === undefined ? null : resolve(value.file),
    fileCheckInterval: duration(value.fileCheckInterval, 60_000, 'signingKeys.fileCheckInterval')
  }
}

/** The default `tokenVersions`: v2.0 only when no v1 issuer is given. */
export function defaultTokenVersions(signingKeys: ResolvedSigningKeys | null): (1 | 2)[] | undefined {
  return signingKeys !== null && signingKeys.v1Issuer === undefined ? [2] : undefined
}

/** Refuses v1.0 tokens accepted with no v1 issuer to check them against. */
export function checkSigningKeyVersions(signingKeys: ResolvedSigningKeys | null, versions: readonly (1 | 2)[]): void {
  if (signingKeys !== null && signingKeys.v1Issuer === undefined && versions.includes(1)) {
    throw new EntraConfigError('signingKeys.v1Issuer', 'is required when tokenVersions includes 1: the v1.0 issuer (https://sts.windows.net/{tenant ID}/), or accept v2.0 tokens only')
  }
}

/** An issuer: an https URL (http on loopback), with `{tenantid}` exactly when the API is multi-tenant. */
function checkIssuer(value: unknown, option: string, multiTenant: boolean): string {
  if (httpsUrl(value) === undefined) {
    throw new EntraConfigError(option, 'must be the issuer (iss) of the tokens, an https URL such as https://login.microsoftonline.com/{tenant ID}/v2.0')
  }
  const issuer = value as string
  // The same rule discovery applies: otherwise the configuration and the issuer disagree about who issues tokens.
  if (issuer.includes(TENANT_TEMPLATE) !== multiTenant) {
    throw new EntraConfigError(option, multiTenant
      ? `must contain ${TENANT_TEMPLATE} in place of the tenant ID for a multi-tenant API (tenantId organizations or common)`
      : `must name the tenant, not ${TENANT_TEMPLATE}, for a single-tenant API`)
  }
  return issuer
}

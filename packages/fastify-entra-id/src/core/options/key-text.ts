// Signing keys given as text or a value (the `signingKeys` option): a JWKS document or PEM public keys, turned
// into one JWKS document, the form the key set reads. Pure: no I/O; the caller says which option or file was wrong.

import { createHash, createPublicKey } from 'node:crypto'
import type { JsonWebKey as NodeJsonWebKey } from 'node:crypto'

/** A JSON Web Key as a JWKS document holds it (RFC 7517): `kty` and the key's own members. */
export type Jwk = Readonly<Record<string, unknown>>

/** A JWKS document (RFC 7517 §5). */
export interface JwkSet {
  readonly keys: readonly Jwk[]
}

/** What the verifier can use: RS256 needs an RSA key of at least 2048 bits (Entra's are 2048). */
const MIN_RSA_BITS = 2048

/** RFC 7517 §9.3: the members that make a JWK private. A key set we are given must hold public keys only. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'oth', 'k']

/** PEM labels (RFC 7468) of public RSA keys: SPKI, PKCS #1, and an X.509 certificate (its public key). */
const PUBLIC_LABELS = new Set(['PUBLIC KEY', 'RSA PUBLIC KEY', 'CERTIFICATE'])

/**
 * Keys as text: a JWKS document (JSON, starting with `{`) or PEM. Every key gets a `kid`: its own, or in PEM the
 * `kid: <value>` line just above its block (RFC 7468 §5.2 allows explanatory text between blocks), else its RFC 7638
 * JWK thumbprint (SHA-256, base64url).
 *
 * @throws Error saying what is wrong (never quoting key material).
 */
export function parseKeyText(text: string): JwkSet {
  const trimmed = text.trim()
  if (trimmed.startsWith('{')) {
    let value: unknown
    try {
      value = JSON.parse(trimmed)
    } catch {
      throw new Error('is not valid JSON (a JWKS document, {"keys": [...]}, was expected)')
    }
    return checkJwkSet(value)
  }
  if (trimmed.includes('-----BEGIN ')) return pemToJwkSet(trimmed)
  throw new Error('is neither a JWKS document (JSON) nor PEM public keys (-----BEGIN PUBLIC KEY-----)')
}

/**
 * A JWKS document given as a value, checked: `{ keys: [...] }` of public keys only, at least one an RSA key of
 * at least 2048 bits that may sign. Keys without a `kid` get their thumbprint.
 */
export function checkJwkSet(value: unknown): JwkSet {
  const keys = (value as { keys?: unknown } | null)?.keys
  if (value === null || typeof value !== 'object' || !Array.isArray(keys)) {
    throw new Error('must be a JWKS document: an object with a "keys" array')
  }
  const checked = (keys as unknown[]).map((key, i) => {
    if (key === null || typeof key !== 'object' || Array.isArray(key)) throw new Error(`has a key (keys[${i}]) that is not an object`)
    const jwk = key as Jwk
    if (PRIVATE_MEMBERS.some((member) => member in jwk)) {
      throw new Error(`holds a private or secret key (keys[${i}]): give the public keys only (the identity provider's JWKS)`)
    }
    return typeof jwk.kid === 'string' && jwk.kid !== '' ? jwk : { ...jwk, kid: thumbprint(jwk) }
  })
  if (!checked.some(isUsableRsaKey)) {
    throw new Error(`has no RSA public key of at least ${MIN_RSA_BITS} bits for signatures (RS256 is what Entra signs with)`)
  }
  return { keys: checked }
}

/** RFC 7638 §3: the SHA-256 of the key's required members in lexicographic order, base64url. RSA only. */
function thumbprint(jwk: Jwk): string {
  if (jwk.kty !== 'RSA' || typeof jwk.e !== 'string' || typeof jwk.n !== 'string') {
    throw new Error('has a key without "kid" that is not an RSA key: give it a "kid"')
  }
  return createHash('sha256').update(JSON.stringify({ e: jwk.e, kty: 'RSA', n: jwk.n })).digest('base64url')
}

function isUsableRsaKey(jwk: Jwk): boolean {
  if (jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || jwk.use === 'enc') return false
  // The modulus in base64url, leading zero bytes aside (RFC 7518 §6.3.1.1 forbids them anyway).
  const modulus = Buffer.from(jwk.n, 'base64url')
  const first = modulus.findIndex((byte) => byte !== 0)
  return first >= 0 && (modulus.length - first) * 8 >= MIN_RSA_BITS - 7
}

/** PEM blocks of RSA public keys or certificates, each with a `kid` (see {@link parseKeyText}). */
function pemToJwkSet(text: string): JwkSet {
  const keys: Jwk[] = []
  let kid: string | undefined
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const line = (lines[i] as string).trim()
    const begin = /^-----BEGIN ([A-Z0-9 ]+)-----$/.exec(line)
    if (begin === null) {
      const named = /^kid:\s*(\S+)$/i.exec(line)
      if (named !== null) kid = named[1]
      continue
    }
    const label = begin[1] as string
    const end = lines.findIndex((l, j) => j > i && l.trim() === `-----END ${label}-----`)
    if (end < 0) throw new Error(`has a PEM block "${label}" without its END line`)
    const n = keys.length + 1
    if (label.includes('PRIVATE')) {
      throw new Error(`holds a private key (PEM block ${n}, "${label}"): give the public key only (openssl pkey -pubout)`)
    }
    if (!PUBLIC_LABELS.has(label)) throw new Error(`has a PEM block "${label}": PUBLIC KEY, RSA PUBLIC KEY or CERTIFICATE was expected`)
    keys.push(pemKey(lines.slice(i, end + 1).join('\n'), n, kid))
    kid = undefined
    i = end
  }
  if (keys.length === 0) throw new Error('has no PEM block')
  return { keys }
}

function pemKey(pem: string, n: number, kid: string | undefined): Jwk {
  let exported: NodeJsonWebKey
  let bits: number | undefined
  try {
    const key = createPublicKey(pem)
    if (key.asymmetricKeyType !== 'rsa') throw new Error(`is a ${String(key.asymmetricKeyType)} key`)
    bits = key.asymmetricKeyDetails?.modulusLength
    exported = key.export({ format: 'jwk' })
  } catch (cause) {
    throw new Error(`has a PEM block (${n}) that is not an RSA public key: ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
  }
  if (bits === undefined || bits < MIN_RSA_BITS) throw new Error(`has an RSA key (PEM block ${n}) shorter than ${MIN_RSA_BITS} bits`)
  const jwk = { kty: 'RSA', n: exported.n, e: exported.e }
  return { ...jwk, use: 'sig', kid: kid ?? thumbprint(jwk) }
}

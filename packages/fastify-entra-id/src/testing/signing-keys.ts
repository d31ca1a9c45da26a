import { exportJWK, generateKeyPair, importJWK, calculateJwkThumbprint } from 'jose'
import type { CryptoKey, JWK } from 'jose'

/** A private signing key of the issuer, with the public JWK it publishes. */
export interface SigningKey {
  readonly kid: string
  readonly privateJwk: JWK
  readonly privateKey: CryptoKey
  readonly publicJwk: JWK
}

/** A new RS256/2048 key, its kid the JWK thumbprint. */
export async function newSigningKey(): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true })
  const privateJwk = await exportJWK(privateKey)
  // Entra's kid is the certificate's SHA-1 thumbprint; a JWK thumbprint is as unique and needs no certificate.
  privateJwk.kid = await calculateJwkThumbprint(privateJwk, 'sha256')
  privateJwk.alg = 'RS256'
  return importSigningKey(privateJwk)
}

/** A key from a saved private JWK (see TestIssuer.exportKeys). */
export async function importSigningKey(privateJwk: JWK): Promise<SigningKey> {
  if (privateJwk.kty !== 'RSA' || typeof privateJwk.kid !== 'string' || privateJwk.d === undefined) {
    throw new TypeError('TestIssuer: keys must be private RSA JWKs with a kid')
  }
  const privateKey = await importJWK({ ...privateJwk, alg: 'RS256' }, 'RS256') as CryptoKey
  const { n, e, kid } = privateJwk
  if (n === undefined || e === undefined) throw new TypeError('TestIssuer: RSA keys need n and e')
  const publicJwk: JWK = { kty: 'RSA', use: 'sig', kid, x5t: kid, n, e }
  return { kid, privateJwk: { ...privateJwk }, privateKey, publicJwk }
}

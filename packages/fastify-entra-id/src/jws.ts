import { verify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'

/** A compact JWS split and decoded once; the signature is not verified yet. */
export interface DecodedJws {
  readonly header: Readonly<Record<string, unknown>>
  readonly payload: Readonly<Record<string, unknown>>
  /** The signing input, `base64url(header) "." base64url(payload)`, as the bytes received. */
  readonly signingInput: string
  /** The raw signature segment (base64url). */
  readonly signature: string
  /** Length of the payload segment, in characters: a measure of the claims' size. */
  readonly payloadLength: number
}

// Three base64url segments without padding (RFC 7515 §2, §7.1); the signature may be empty, to be refused by the
// algorithm check ("none") or the signature check. Anything else is not a JWS, and Buffer would silently skip it.
const COMPACT_JWS = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$/

/**
 * Splits and decodes a compact JWS (RFC 7515 §7.1): three base64url segments, a JSON object header and a JSON
 * object payload. Returns null for anything else. Decoding once here replaces jose's `decodeProtectedHeader`,
 * `decodeJwt` and `jwtVerify`'s own decoding: a third of the work per token.
 */
export function decodeJws(token: string): DecodedJws | null {
  if (!COMPACT_JWS.test(token)) return null
  const first = token.indexOf('.')
  const second = token.indexOf('.', first + 1)
  const header = parseObject(token.slice(0, first))
  const payload = parseObject(token.slice(first + 1, second))
  if (header === null || payload === null) return null
  return { header, payload, signingInput: token.slice(0, second), signature: token.slice(second + 1), payloadLength: second - first - 1 }
}

function parseObject(segment: string): Record<string, unknown> | null {
  try {
    const value: unknown = JSON.parse(Buffer.from(segment, 'base64url').toString('utf8'))
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value as Record<string, unknown> : null
  } catch {
    return null
  }
}

/**
 * Verifies an RS256 signature (RSASSA-PKCS1-v1_5 with SHA-256, RFC 7518 §3.3) with `node:crypto`, synchronously:
 * the same OpenSSL check WebCrypto runs for jose, without a hop to the thread pool and back per token.
 */
export function verifyRs256(jws: DecodedJws, key: KeyObject): boolean {
  return verify('sha256', Buffer.from(jws.signingInput, 'latin1'), key, Buffer.from(jws.signature, 'base64url'))
}

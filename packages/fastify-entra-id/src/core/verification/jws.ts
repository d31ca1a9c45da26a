import { verify } from 'node:crypto'
import type { KeyObject } from 'node:crypto'

/** A compact JWS split and decoded once; the signature is not verified yet. */
export interface DecodedJws {
  readonly header: Readonly<Record<string, unknown>>
  readonly payload: Readonly<Record<string, unknown>>
  /** The whole token: the signature is checked over its first {@link signatureStart} - 1 characters. */
  readonly token: string
  /** Index of the signature segment in {@link token}. */
  readonly signatureStart: number
  /** Length of the payload segment, in characters: a measure of the claims' size. */
  readonly payloadLength: number
}

/** Longest token decoded, in characters; the verifier refuses longer ones before decoding. */
export const MAX_JWS_LENGTH = 16 * 1024

// Scratch space for decoding, reused by every call: each use is synchronous and complete before the next, so a
// token never sees another's bytes, and a request allocates no buffers for decoding or for the RSA check.
// Sized for the worst case, 3 UTF-8 bytes per character, so a write is never cut short.
const scratch = Buffer.allocUnsafe(3 * MAX_JWS_LENGTH)
const signatureScratch = Buffer.allocUnsafe(3 * MAX_JWS_LENGTH)

/**
 * Splits and decodes a compact JWS (RFC 7515 §7.1): three base64url segments, a JSON object header and a JSON
 * object payload. Returns null for anything else. Decoding once here replaces jose's `decodeProtectedHeader`,
 * `decodeJwt` and `jwtVerify`'s own decoding, which decode every token three times.
 */
export function decodeJws(token: string): DecodedJws | null {
  // Three base64url segments without padding (RFC 7515 §2, §7.1); the signature may be empty, to be refused by
  // the algorithm check ("none") or the signature check. The characters are checked without a regex (one over a
  // 1.5 KB token cost as much as a tenth of the RSA check): Buffer's decoder skips what is not base64, so a
  // segment decoding to fewer bytes than its length implies held such a character; and it also takes the
  // standard alphabet's `+` and `/`, which would give a token a second spelling, so those are refused first.
  if (token.length > MAX_JWS_LENGTH) return null
  const first = token.indexOf('.')
  const second = first <= 0 ? -1 : token.indexOf('.', first + 1)
  if (second <= first + 1 || token.indexOf('.', second + 1) !== -1) return null
  if (token.indexOf('+') !== -1 || token.indexOf('/') !== -1) return null
  if (!canonical(token, 0, first) || !canonical(token, first + 1, second) || !canonical(token, second + 1, token.length)) return null
  // The signature is decoded again when it is checked (after the key is found, maybe after a fetch, when the
  // scratch buffer may have served other tokens); here only its characters are vetted.
  const signatureCharacters = token.length - second - 1
  if (signatureScratch.write(token.slice(second + 1), 0, 'base64url') !== decodedLength(signatureCharacters)) return null
  const header = parseObject(token, 0, first)
  const payload = parseObject(token, first + 1, second)
  if (header === null || payload === null) return null
  return { header, payload, token, signatureStart: second + 1, payloadLength: second - first - 1 }
}

/**
 * Whether `token[start, end)` is base64url as an encoder writes it (RFC 4648 §3.5): no length that leaves a lone
 * character, and zero in the unused low bits of the last one. Buffer (like most decoders) ignores those bits, so
 * without this check every signature has 16 spellings that verify, and anything keyed on the token's text (the
 * token cache, a deny-list) would see 16 different tokens.
 */
function canonical(token: string, start: number, end: number): boolean {
  const rest = (end - start) % 4
  if (rest === 0) return true
  if (rest === 1) return false
  const last = BASE64URL_VALUE[token.charCodeAt(end - 1)] ?? 0
  return (last & (rest === 2 ? 0x0f : 0x03)) === 0
}

// The 6-bit value of each base64url character, by its character code (any other character counts as 0 here, and
// is refused when its segment is decoded).
const BASE64URL_VALUE: readonly number[] = (() => {
  const values: number[] = []
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  for (let i = 0; i < alphabet.length; i++) values[alphabet.charCodeAt(i)] = i
  return values
})()

/** Bytes in `characters` of canonical unpadded base64url (never 1 more than a multiple of 4: see canonical). */
function decodedLength(characters: number): number {
  return Math.floor(characters * 3 / 4)
}

function parseObject(token: string, start: number, end: number): Record<string, unknown> | null {
  try {
    const length = scratch.write(token.slice(start, end), 0, 'base64url')
    if (length !== decodedLength(end - start)) return null
    const value: unknown = JSON.parse(scratch.toString('utf8', 0, length))
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
  const { token, signatureStart } = jws
  if (signatureStart === token.length) return false
  // The signing input is `header.payload` as received (RFC 7515 §5.2), in ASCII. Writing it as UTF-8 and
  // requiring one byte per character refuses any non-ASCII character: with a lossy encoding two different
  // strings could share the bytes the signature covers while decoding to different claims.
  const input = token.slice(0, signatureStart - 1)
  const inputLength = scratch.write(input, 0, 'utf8')
  if (inputLength !== input.length) return false
  const signatureLength = signatureScratch.write(token.slice(signatureStart), 0, 'base64url')
  if (signatureLength !== decodedLength(token.length - signatureStart)) return false
  return verify('sha256', scratch.subarray(0, inputLength), key, signatureScratch.subarray(0, signatureLength))
}

import { readFile, stat } from 'node:fs/promises'
import { KeySetFetchError } from './key-set.js'
import { parseKeyText } from '../options/key-text.js'
import type { JwkSet } from '../options/key-text.js'

/** A key file is a few KiB; a larger one is refused rather than read. The same cap as a fetched key set. */
const MAX_KEY_FILE_BYTES = 256 * 1024

/**
 * What a {@link KeySet} fetches instead of a URL: the keys as a JWKS answer, with no network call. The key set
 * (jose's remote set) keeps owning freshness, cooldown and key selection; this only supplies the document.
 */
export type KeySource = () => Promise<Response>

/** The keys given as a value: always the same document. */
export function valueSource(keys: JwkSet): KeySource {
  const body = JSON.stringify(keys)
  return () => Promise.resolve(jwksResponse(body))
}

/**
 * A file of keys (JWKS or PEM), read again only when it changed: its modification time, size or inode (a file
 * replaced by rename) differs from the last read. The key set asks at most every `fileCheckInterval` (its
 * `cacheMaxAge`), so a request costs jose's timestamp compare and nothing else.
 *
 * @throws {@link KeySetFetchError} naming the file and what is wrong (never its content).
 */
export function fileSource(path: string): KeySource {
  let last: { readonly version: string, readonly body: string } | null = null
  return async () => {
    let version: string
    let text: string
    try {
      const info = await stat(path, { bigint: true })
      version = `${info.mtimeNs}:${info.size}:${info.ino}`
      if (last !== null && last.version === version) return jwksResponse(last.body)
      if (info.size > MAX_KEY_FILE_BYTES) throw new KeySetFetchError(`Key file ${path} is larger than ${MAX_KEY_FILE_BYTES} bytes`)
      text = await readFile(path, 'utf8')
    } catch (cause) {
      if (cause instanceof KeySetFetchError) throw cause
      const code = (cause as NodeJS.ErrnoException).code ?? String(cause)
      throw new KeySetFetchError(`Key file ${path} could not be read (${code})`, { cause })
    }
    let keys: JwkSet
    try {
      keys = parseKeyText(text)
    } catch (cause) {
      throw new KeySetFetchError(`Key file ${path} ${cause instanceof Error ? cause.message : String(cause)}`)
    }
    last = { version, body: JSON.stringify(keys) }
    return jwksResponse(last.body)
  }
}

function jwksResponse(body: string): Response {
  return new Response(body, { status: 200, headers: { 'content-type': 'application/json' } })
}

// Records live off the V8 heap, in chunks of CHUNK bytes within segments of 1 MiB allocated as the store fills.
const CHUNK_SHIFT = 8
const CHUNK = 1 << CHUNK_SHIFT
const SEGMENT_SHIFT = 12
const SEGMENT_CHUNKS = 1 << SEGMENT_SHIFT
const NONE = -1

/** Bytes of the digest every record starts with: SHA-256, what a lookup is checked against. */
export const DIGEST_BYTES = 32

/**
 * The token cache's records: a digest and a UTF-8 text each, in chained chunks of 256 bytes within 1 MiB segments
 * allocated off the V8 heap as the store fills (never more than `maxBytes`), with free lists of numbers in typed
 * arrays made once. Why off the heap: records that survive garbage collections while the cache fills would make V8
 * grow its young generation (see token-cache.ts).
 *
 * Writing is staged: {@link stage} encodes a text into the scratch buffer and says how many bytes the record takes,
 * so the cache can make room before {@link commit} stores it.
 */
export class RecordStore {
  readonly #segments: Buffer[] = []
  readonly #chunkLimit: number
  readonly #nextChunk: Int32Array
  readonly #freeChunks: Int32Array
  #freeChunkCount = 0
  #freshChunk = 0
  #usedChunks = 0
  #scratch = Buffer.allocUnsafe(4096)

  /** A store of at most `maxBytes` bytes of chunks. */
  constructor(maxBytes: number) {
    this.#chunkLimit = Math.floor(maxBytes / CHUNK)
    this.#nextChunk = new Int32Array(Math.max(1, this.#chunkLimit))
    this.#freeChunks = new Int32Array(Math.max(1, this.#chunkLimit))
  }

  /** How many records of one chunk fit: the most entries the store can hold. */
  get chunkLimit(): number {
    return this.#chunkLimit
  }

  /** Bytes of the chunks in use. */
  get usedBytes(): number {
    return this.#usedChunks * CHUNK
  }

  /** Encodes `text` after the digest's place in the scratch buffer; returns the record's size in bytes. */
  stage(text: string): number {
    if (this.#scratch.length < DIGEST_BYTES + 3 * text.length) this.#scratch = Buffer.allocUnsafe(DIGEST_BYTES + 3 * text.length)
    return DIGEST_BYTES + this.#scratch.write(text, DIGEST_BYTES, 'utf8')
  }

  /** Chunks a record of `bytes` takes. */
  chunksOf(bytes: number): number {
    return Math.ceil(bytes / CHUNK)
  }

  /** True when a record of `bytes` could never fit, even in an empty store. */
  tooLarge(bytes: number): boolean {
    return this.chunksOf(bytes) > this.#chunkLimit
  }

  /** True when a record of `bytes` fits in the chunks left. */
  fits(bytes: number): boolean {
    return this.#usedChunks + this.chunksOf(bytes) <= this.#chunkLimit
  }

  /** Stores the staged record of `bytes` with `digest`; returns its first chunk. The caller made room ({@link fits}). */
  commit(digest: Buffer, bytes: number): number {
    digest.copy(this.#scratch, 0)
    let first = NONE
    let previous = NONE
    for (let at = 0; at < bytes; at += CHUNK) {
      const chunk = this.#takeChunk()
      if (previous === NONE) first = chunk
      else this.#nextChunk[previous] = chunk
      const segment = this.#segments[chunk >>> SEGMENT_SHIFT] as Buffer
      this.#scratch.copy(segment, (chunk & (SEGMENT_CHUNKS - 1)) << CHUNK_SHIFT, at, Math.min(bytes, at + CHUNK))
      previous = chunk
    }
    this.#nextChunk[previous] = NONE
    return first
  }

  /** True when the record at `first` starts with `digest`. */
  matches(first: number, digest: Buffer): boolean {
    const offset = (first & (SEGMENT_CHUNKS - 1)) << CHUNK_SHIFT
    return digest.compare(this.#segments[first >>> SEGMENT_SHIFT] as Buffer, offset, offset + DIGEST_BYTES) === 0
  }

  /** The text of the record of `bytes` at `first`. */
  read(first: number, bytes: number): string {
    if (this.#scratch.length < bytes) this.#scratch = Buffer.allocUnsafe(bytes)
    let chunk = first
    for (let at = 0; at < bytes; at += CHUNK) {
      const offset = (chunk & (SEGMENT_CHUNKS - 1)) << CHUNK_SHIFT
      ;(this.#segments[chunk >>> SEGMENT_SHIFT] as Buffer).copy(this.#scratch, at, offset, offset + Math.min(CHUNK, bytes - at))
      chunk = this.#nextChunk[chunk] as number
    }
    return this.#scratch.toString('utf8', DIGEST_BYTES, bytes)
  }

  /** Frees the chunks of the record of `bytes` at `first`. */
  release(first: number, bytes: number): void {
    let chunk = first
    for (let at = 0; at < bytes; at += CHUNK) {
      this.#freeChunks[this.#freeChunkCount++] = chunk
      this.#usedChunks--
      chunk = this.#nextChunk[chunk] as number
    }
  }

  /** Frees every chunk; segments already allocated are reused, in order. */
  reset(): void {
    this.#freeChunkCount = 0
    this.#freshChunk = 0
    this.#usedChunks = 0
  }

  #takeChunk(): number {
    this.#usedChunks++
    if (this.#freeChunkCount > 0) return this.#freeChunks[--this.#freeChunkCount] as number
    const chunk = this.#freshChunk++
    if ((chunk >>> SEGMENT_SHIFT) === this.#segments.length) {
      // Off the V8 heap, and not zero-filled: a chunk is read only after it was written.
      const chunks = Math.min(SEGMENT_CHUNKS, this.#chunkLimit - chunk)
      this.#segments.push(Buffer.allocUnsafeSlow(chunks * CHUNK))
    }
    return chunk
  }
}

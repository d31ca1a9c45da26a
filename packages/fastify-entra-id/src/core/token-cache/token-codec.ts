/**
 * How a cached value is kept while it is not in use: as a string (for identities, the token version and the
 * claims' JSON), turned back into a value equal to the first on a later hit.
 */
export interface TokenCacheCodec<V> {
  /** The record of `value`: everything {@link decode} needs. */
  encode(value: V): string
  /** A value equal to the one `record` was made of. */
  decode(record: string): V
}

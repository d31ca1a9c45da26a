import type { JWK } from 'jose'
import { importSigningKey, newSigningKey } from './signing-keys.js'
import type { SigningKey } from './signing-keys.js'

/**
 * The keys of a TestIssuer: the published ones (one of which signs new tokens), B2C policies' own keys, keys
 * published only for one application (`?appid=`), and the `issuer` fields pinned on some of them.
 */
export class KeyRing {
  #keys: SigningKey[]
  #signingKid: string
  readonly #pinnedIssuers = new Map<string, string>()
  /** B2C policies' own signing keys (`separateKeys`), by lower-case policy name. */
  readonly #policyKeys: ReadonlyMap<string, SigningKey>
  /** Keys published only at `?appid=` for one application, by application ID (lower case). */
  readonly #appKeys = new Map<string, SigningKey[]>()

  private constructor(keys: SigningKey[], policyKeys: ReadonlyMap<string, SigningKey>) {
    this.#keys = keys
    this.#signingKid = (keys[0] as SigningKey).kid
    this.#policyKeys = policyKeys
  }

  /** The saved private JWKs `keys` (a new key when none), and a key of its own for each of `separatePolicies`. */
  static async create(keys: readonly JWK[] | undefined, separatePolicies: readonly string[]): Promise<KeyRing> {
    const published = keys !== undefined && keys.length > 0
      ? await Promise.all(keys.map(importSigningKey))
      : [await newSigningKey()]
    const policyKeys = new Map<string, SigningKey>()
    for (const policy of separatePolicies) policyKeys.set(policy.toLowerCase(), await newSigningKey())
    return new KeyRing(published, policyKeys)
  }

  /** The `kid` of the key that signs new tokens. */
  get signingKid(): string {
    return this.#signingKid
  }

  /** The `kid`s of every published key. */
  get kids(): readonly string[] {
    return this.#keys.map((k) => k.kid)
  }

  /** See TestIssuer.addAppKey. */
  async addAppKey(appId: string): Promise<string> {
    const key = await newSigningKey()
    const id = appId.toLowerCase()
    this.#appKeys.set(id, [...(this.#appKeys.get(id) ?? []), key])
    return key.kid
  }

  /** See TestIssuer.rotateKeys. */
  async rotate(): Promise<string> {
    const kid = await this.add()
    this.#signingKid = kid
    return kid
  }

  /** See TestIssuer.addKey. */
  async add(): Promise<string> {
    const key = await newSigningKey()
    this.#keys = [...this.#keys, key]
    return key.kid
  }

  /** See TestIssuer.removeKey. */
  remove(kid: string): void {
    const rest = this.#keys.filter((k) => k.kid !== kid)
    if (rest.length === 0) throw new Error('TestIssuer: cannot remove the last key')
    this.#keys = rest
    if (this.#signingKid === kid) this.#signingKid = (rest[rest.length - 1] as SigningKey).kid
  }

  /** The private JWKs of the published keys. */
  exportKeys(): JWK[] {
    return this.#keys.map((k) => ({ ...k.privateJwk }))
  }

  /**
   * The public key set: the published keys, and with `appId` that application's own, each with the `issuer`
   * field pinned on it or else `issuer` (none when undefined).
   */
  jwks(issuer: string | undefined, appId?: string): { keys: JWK[] } {
    const appKeys = appId === undefined ? [] : (this.#appKeys.get(appId.toLowerCase()) ?? [])
    return {
      keys: [...this.#keys, ...appKeys].map((k) => {
        const keyIssuer = issuer === undefined ? undefined : (this.#pinnedIssuers.get(k.kid) ?? issuer)
        return keyIssuer === undefined ? { ...k.publicJwk } : { ...k.publicJwk, issuer: keyIssuer }
      })
    }
  }

  /** A B2C policy's key set (lower-case name): its own key, or the published keys; no `issuer` fields. */
  policyJwks(policy: string): { keys: JWK[] } {
    const own = this.#policyKeys.get(policy)
    return { keys: (own === undefined ? this.#keys : [own]).map((k) => ({ ...k.publicJwk })) }
  }

  /** The `kid` of a B2C policy's own key (any case), when it has one. */
  policyKid(policy: string): string | undefined {
    return this.#policyKeys.get(policy.toLowerCase())?.kid
  }

  /** See TestIssuer.pinKeyIssuer. */
  pinIssuer(kid: string, issuer: string | null): void {
    if (issuer === null) this.#pinnedIssuers.delete(kid)
    else this.#pinnedIssuers.set(kid, issuer)
  }

  /** The key `kid` (the signing key when undefined), wherever it is kept. */
  key(kid: string = this.#signingKid): SigningKey {
    const key = this.#keys.find((k) => k.kid === kid) ??
      [...this.#policyKeys.values()].find((k) => k.kid === kid) ??
      [...this.#appKeys.values()].flat().find((k) => k.kid === kid)
    if (key === undefined) throw new Error(`TestIssuer: no key ${kid}`)
    return key
  }
}

import { InvalidTokenError } from '../errors/refusals.js'
import { RevocationCheckError } from '../errors/unavailable.js'
import type { EntraAccessTokenClaims, EntraIdentity } from '../identity/identity.js'
import type { ResolvedRevocation, RevocationFacts } from '../options/revocation-options.js'

/** One cached answer: whether the facts are revoked, and until when (milliseconds since the epoch) it holds. */
interface Answer {
  readonly revoked: boolean
  readonly until: number
}

/**
 * The `revocation.isRevoked` check of a verified token, with its answers cached: asked after every other rule
 * passed and on every use of a token in the token cache, so a revocation reaches tokens verified before it within
 * `maxAge`. Made by the verifier only when the option is given: without it, no request does any of this.
 *
 * - An answer is kept per token (by its `uti`; a token without one, by its facts) for `maxAge`, at most `maxEntries`
 *   of them. Every answer lives as long, so the oldest inserted is the first to expire: it is the one that goes
 *   when full, and a hit reorders nothing (a lookup and a comparison: about 0.15 µs, bench/revocation-cache.ts).
 * - Concurrent requests with the same facts not in the cache share one call.
 * - A failed check (thrown, rejected, timed out, neither `true` nor `false`) is not cached: a 503
 *   ({@link RevocationCheckError}), or with `failOpen` an accepted token.
 */
export class RevocationScreen {
  readonly #options: ResolvedRevocation
  readonly #clock: () => number
  readonly #answers = new Map<string, Answer>()
  readonly #pending = new Map<string, Promise<boolean>>()

  constructor(options: ResolvedRevocation, clock: () => number) {
    this.#options = options
    this.#clock = clock
  }

  /** How many answers are cached now. */
  get size(): number {
    return this.#answers.size
  }

  /**
   * `identity` when it is not revoked: synchronously on a cached answer, else a promise of the check's. A cached
   * "revoked" throws `ENTRA_TOKEN_REVOKED`; a pending check rejects with it, or with {@link RevocationCheckError}.
   */
  screen(identity: EntraIdentity): EntraIdentity | Promise<EntraIdentity> {
    const claims = identity.claims
    const key = keyOf(claims)
    const answer = this.#answers.get(key)
    if (answer !== undefined && this.#clock() < answer.until) {
      if (answer.revoked) throw revoked()
      return identity
    }
    let pending = this.#pending.get(key)
    if (pending === undefined) {
      const check = this.#check(key, factsOf(claims))
      this.#pending.set(key, check)
      const forget = (): void => { if (this.#pending.get(key) === check) this.#pending.delete(key) }
      check.then(forget, forget)
      pending = check
    }
    return pending.then((isRevoked) => {
      if (isRevoked) throw revoked()
      return identity
    })
  }

  /** `identity` when a cached answer says it is not revoked; else undefined (revoked, or not known yet). */
  known(identity: EntraIdentity): EntraIdentity | undefined {
    const answer = this.#answers.get(keyOf(identity.claims))
    return answer !== undefined && !answer.revoked && this.#clock() < answer.until ? identity : undefined
  }

  async #check(key: string, facts: RevocationFacts): Promise<boolean> {
    let answer: unknown
    try {
      answer = await withTimeout(() => this.#options.isRevoked(facts), this.#options.timeoutDuration)
    } catch (cause) {
      return this.#failed(cause)
    }
    if (typeof answer !== 'boolean') return this.#failed(new TypeError('revocation.isRevoked answered neither true nor false'))
    const answers = this.#answers
    answers.delete(key)
    answers.set(key, { revoked: answer, until: this.#clock() + this.#options.maxAge })
    if (answers.size > this.#options.maxEntries) answers.delete(answers.keys().next().value as string)
    return answer
  }

  #failed(cause: unknown): boolean {
    // Fail-open, said so in the options: the token passes as not revoked, and the next request asks again.
    if (this.#options.failOpen) return false
    throw new RevocationCheckError({ cause })
  }
}

/** `identity` unless `screen` has no cached answer saying it is not revoked (no `screen`: `identity` as it is). */
export function unrevoked(screen: RevocationScreen | null, identity: EntraIdentity | undefined): EntraIdentity | undefined {
  return screen === null || identity === undefined ? identity : screen.known(identity)
}

/** Settles as `run()` does, or rejects once `timeout` milliseconds have passed; `run` throwing rejects too. */
function withTimeout<T>(run: () => T | Promise<T>, timeout: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const expired = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => { reject(new Error(`revocation.isRevoked did not answer within ${timeout} ms`)) }, timeout)
  })
  const answer = new Promise<T>((resolve) => { resolve(run()) })
  return Promise.race([answer, expired]).finally(() => { clearTimeout(timer) })
}

function text(value: unknown): string | null {
  return typeof value === 'string' ? value : null
}

function factsOf(claims: EntraAccessTokenClaims): RevocationFacts {
  return Object.freeze({
    oid: text(claims.oid),
    sub: text(claims.sub),
    uti: text(claims.uti),
    sid: text(claims.sid),
    tid: text(claims.tid),
    clientId: text(claims.azp) ?? text(claims.appid)
  })
}

/**
 * The cache key of a token's facts. Entra gives every token its own `uti` (its unique token identifier, as `jti`
 * elsewhere), and only a verified token gets here, so a `uti` stands for all the facts of its token, and a hit costs
 * no string building (the hot path: a repeated token). A token without one (B2C's) is keyed by its facts, each with
 * its length before it so that no value can pass for another, after a space, which no `uti` (base64url) holds.
 */
function keyOf(claims: EntraAccessTokenClaims): string {
  const uti = claims.uti
  if (typeof uti === 'string' && uti !== '' && uti[0] !== ' ') return uti
  return ` ${part(claims.oid)}${part(claims.sub)}${part(claims.sid)}${part(claims.tid)}${part(text(claims.azp) ?? claims.appid)}`
}

function part(value: unknown): string {
  return typeof value === 'string' ? `${value.length}:${value}` : '-'
}

function revoked(): InvalidTokenError {
  return new InvalidTokenError('ENTRA_TOKEN_REVOKED',
    'The token has been revoked: its caller, client, session or the token itself is on this API\'s deny-list; ask the API\'s owner')
}

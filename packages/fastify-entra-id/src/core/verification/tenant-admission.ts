import { InvalidTokenError } from '../errors/refusals.js'
import { TenantLookupError } from '../errors/unavailable.js'
import type { TenantPolicy } from '../options/entra-id-options.js'

/** Settings of a {@link TenantAdmission}, from the resolved options. */
export interface TenantAdmissionOptions {
  readonly decide: TenantPolicy
  /** Most answers kept of each kind (allowed, refused). */
  readonly maxEntries: number
  /** How long one answer is kept, in milliseconds. */
  readonly maxAge: number
  /** Milliseconds since the epoch. */
  readonly clock: () => number
}

/**
 * The `allowedTenants` function of a multi-tenant API, with its answers cached: asked only for a token whose
 * signature and claims verified, so a caller cannot make it run with a tenant Entra did not sign for.
 *
 * - Allowed and refused tenants are kept in two lists of at most `maxEntries` each, least recently used out first:
 *   a stream of tokens from tenants that are not customers (anyone can create a tenant and get a token for a
 *   multi-tenant API) fills only the refused list, and never pushes an onboarded tenant out.
 * - Concurrent requests of one tenant not in the cache share one call.
 * - A failed call (thrown, rejected, neither `true` nor `false`) is a {@link TenantLookupError} (503) and is not
 *   cached: the next request asks again.
 */
export class TenantAdmission {
  readonly #options: TenantAdmissionOptions
  // Tenant ID (lower case) → when the answer expires. A Map iterates in insertion order: a hit re-inserts.
  readonly #allowed = new Map<string, number>()
  readonly #refused = new Map<string, number>()
  readonly #pending = new Map<string, Promise<boolean>>()

  constructor(options: TenantAdmissionOptions) {
    this.#options = options
  }

  /** How many answers are cached now, allowed and refused. */
  get size(): number {
    return this.#allowed.size + this.#refused.size
  }

  /**
   * Admits `tenantId`: `undefined` when the cache says it is allowed (synchronous, as most requests are), a throw
   * of `ENTRA_TOKEN_TENANT_NOT_ALLOWED` when the cache says it is not, else a promise of the function's answer
   * (rejected as above, or with {@link TenantLookupError}).
   */
  admit(tenantId: string): Promise<void> | undefined {
    const tid = tenantId.toLowerCase()
    const now = this.#options.clock()
    if (fresh(this.#allowed, tid, now)) return undefined
    if (fresh(this.#refused, tid, now)) throw notAllowed(tid)
    let pending = this.#pending.get(tid)
    if (pending === undefined) {
      const lookup = this.#lookup(tid)
      this.#pending.set(tid, lookup)
      // Settled here, not in #lookup: a function that throws synchronously settles it before this line runs.
      const forget = (): void => { if (this.#pending.get(tid) === lookup) this.#pending.delete(tid) }
      lookup.then(forget, forget)
      pending = lookup
    }
    return pending.then((allowed) => { if (!allowed) throw notAllowed(tid) })
  }

  async #lookup(tid: string): Promise<boolean> {
    let answer: unknown
    try {
      answer = await this.#options.decide(tid)
    } catch (cause) {
      throw new TenantLookupError({ cause })
    }
    if (typeof answer !== 'boolean') {
      throw new TenantLookupError({ cause: new TypeError('allowedTenants answered neither true nor false') })
    }
    const list = answer ? this.#allowed : this.#refused
    list.delete(tid)
    list.set(tid, this.#options.clock() + this.#options.maxAge)
    if (list.size > this.#options.maxEntries) list.delete(list.keys().next().value as string)
    return answer
  }
}

/** Whether `list` holds a live answer for `tid` (an expired one is dropped, a live one made most recent). */
function fresh(list: Map<string, number>, tid: string, now: number): boolean {
  const until = list.get(tid)
  if (until === undefined) return false
  list.delete(tid)
  if (now >= until) return false
  list.set(tid, until)
  return true
}

function notAllowed(tid: string): InvalidTokenError {
  return new InvalidTokenError('ENTRA_TOKEN_TENANT_NOT_ALLOWED',
    'The token\'s tenant is not allowed to call this API: sign in with an account of an allowed tenant, or ask the API\'s owner to onboard this tenant',
    { details: { tid } })
}

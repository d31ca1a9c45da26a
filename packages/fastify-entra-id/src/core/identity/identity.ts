import type { TokenVersion } from '../options/entra-id-options.js'
import { TENANT_IN_ISSUER_PATH, isGuid } from '../../util/guid.js'
import { facetValues } from './agent-claims.js'
import { callerTypeOf } from './caller-type.js'
import type { CallerType } from './caller-type.js'
import { accountTypeOf } from './account-type.js'
import { deepFreeze } from '../../util/deep-freeze.js'
import type { EntraAgent, EntraFacets } from './agent-claims.js'

/**
 * Claims of an Entra ID access token, as documented in "Access token claims reference" (Microsoft identity
 * platform). Only `iss`, `aud`, `exp`, `tid` and `ver` are guaranteed by verification; the others are present
 * when Entra issues them. Times are seconds since the epoch.
 */
export interface EntraAccessTokenClaims {
  /** Issuer: `https://login.microsoftonline.com/{tid}/v2.0` (v2) or `https://sts.windows.net/{tid}/` (v1). */
  readonly iss: string
  /** The API the token is for: its client ID or App ID URI. */
  readonly aud: string
  /** Expiry, seconds since the epoch. */
  readonly exp: number
  /** Not before, seconds since the epoch. */
  readonly nbf?: number
  /** Issued at, seconds since the epoch. */
  readonly iat?: number
  /**
   * Tenant ID of the caller's tenant (a GUID). Always in Entra ID tokens; Azure AD B2C tokens carry it only when
   * the user flow emits it (`EntraIdentity.tenantId` then comes from the issuer).
   */
  readonly tid: string
  /** Token version: `"1.0"` or `"2.0"`. */
  readonly ver: '1.0' | '2.0'
  /** Object ID of the user or service principal: stable across applications of one tenant. */
  readonly oid?: string
  /** Subject: pairwise per application; for app-only tokens usually equal to `oid`. */
  readonly sub?: string
  /** v2: client ID of the calling application. */
  readonly azp?: string
  /** v1: client ID of the calling application. */
  readonly appid?: string
  /** v2: how the client authenticated: `0` public, `1` secret, `2` certificate. */
  readonly azpacr?: string
  /** v1: how the client authenticated: `0` public, `1` secret, `2` certificate. */
  readonly appidacr?: string
  /** `app` for app-only tokens when the optional `idtyp` claim is configured; `user` for delegated ones. */
  readonly idtyp?: 'app' | 'user'
  /** Display name of the user. */
  readonly name?: string
  /** v2: the user's sign-in name. */
  readonly preferred_username?: string
  /** v1: the user's principal name. */
  readonly upn?: string
  /** v1: a human-readable name of the user (often the UPN). */
  readonly unique_name?: string
  /** Delegated scopes, space-separated. */
  readonly scp?: string
  /** App roles: application permissions for app-only tokens, or roles assigned to the user. */
  readonly roles?: readonly string[]
  /** Account type, an optional claim to configure: `0` a member of the tenant, `1` a guest. */
  readonly acct?: number
  /** The identity provider that signed the user in, when not the token's issuer (guests, personal accounts). */
  readonly idp?: string
  /** Authentication contexts (`c1`..`c99`) the user satisfied, from Conditional Access. */
  readonly acrs?: readonly string[]
  /** Client capabilities the calling application declared, e.g. `cp1` (it can handle claims challenges). */
  readonly xms_cc?: string | readonly string[]
  /** Group object IDs, when the app is configured to emit them. */
  readonly groups?: readonly string[]
  /** Token identifier. */
  readonly uti?: string
  /** Entra Agent ID: facets of the actor (`azp`/`appid`), space-separated numbers (`11`: an agent identity). */
  readonly xms_act_fct?: string
  /** Entra Agent ID: facets of the subject, space-separated numbers (`11` an agent identity, `13` an agent's user account). */
  readonly xms_sub_fct?: string
  /** Entra Agent ID: facets of the tenant, space-separated numbers. */
  readonly xms_tnt_fct?: string
  /** The subject's relationship with the resource tenant, space-separated numbers (`1` member user, `7` service principal...). */
  readonly xms_idrel?: string
  /** Entra Agent ID: the actor's parent application, the agent identity blueprint's application ID. */
  readonly xms_par_app_azp?: string
  /** Any other claim. */
  readonly [claim: string]: unknown
}

/**
 * A set that cannot be changed, even through a cast: identities are shared by every request that presents the
 * same token (see the token cache), so one request must not be able to grant another a scope.
 */
class FrozenSet implements ReadonlySet<string> {
  readonly #set: Set<string>
  constructor(values: Iterable<string>) {
    this.#set = new Set(values)
    Object.freeze(this)
  }

  get size(): number { return this.#set.size }
  has(value: string): boolean { return this.#set.has(value) }
  forEach(callback: (value: string, key: string, set: ReadonlySet<string>) => void, thisArg?: unknown): void {
    this.#set.forEach((value) => { callback.call(thisArg, value, value, this) })
  }

  entries(): SetIterator<[string, string]> { return this.#set.entries() }
  keys(): SetIterator<string> { return this.#set.keys() }
  values(): SetIterator<string> { return this.#set.values() }
  [Symbol.iterator](): SetIterator<string> { return this.#set.values() }
}

const EMPTY: ReadonlySet<string> = new FrozenSet([])


// Facets are read once per identity and kept here, not on the frozen identity: most requests never ask.
const facetsOf = new WeakMap<EntraIdentity, EntraFacets>()

/**
 * The verified caller, set as `request.auth` once the bearer token has been verified. Absent claims are `null`.
 * Immutable, so one instance serves every request that presents the same token. Exported as a type only:
 * identities come from the verifier.
 */
class EntraIdentity {
  /** Every claim of the verified token. */
  readonly claims: EntraAccessTokenClaims
  /** `tid`: the caller's tenant. B2C: `tid`, else the tenant ID in the issuer (`https://{host}/{tenant ID}/v2.0/`). */
  readonly tenantId: string
  /** `oid`: the user's or service principal's object ID. B2C: `oid`, else `sub` (B2C's subject is the object ID). */
  readonly objectId: string | null
  /** `sub`. */
  readonly subject: string | null
  /** The calling application's client ID: `azp` (v2) or `appid` (v1). */
  readonly clientAppId: string | null
  /** `name`. */
  readonly name: string | null
  /** The user's sign-in name: `preferred_username` (v2), else `upn` or `unique_name` (v1). */
  readonly username: string | null
  /** Delegated scopes from `scp` (never from `roles`); `/` (an agent's "unscoped") is none. */
  readonly scopes: ReadonlySet<string>
  /** App roles from `roles` (never from `scp`). */
  readonly roles: ReadonlySet<string>
  /**
   * True for an application calling with its own identity (client credentials): `idtyp` is `app`, or, when that
   * optional claim is absent, the token has no `scp` and its `oid` equals its `sub`.
   */
  readonly isAppOnly: boolean
  /** 1 or 2, from the verified issuer and `ver`. B2C: 2 (its v2.0 endpoints issued it; its `ver` says `"1.0"`). */
  readonly tokenVersion: TokenVersion
  /**
   * Whether the user belongs to the tenant: `acct` (`0` member, `1` guest) when the app registration emits that
   * optional claim; without it, `guest` when `idp` names another identity provider than the token's tenant (Entra
   * sets `idp` only then) and `member` otherwise. `null` for app-only tokens. B2C: `member` (every user, local or
   * signed in with a social account named by `idp`, is an account of the B2C tenant).
   */
  readonly accountType: 'member' | 'guest' | null
  /**
   * Who is calling. A user or an application, as before agents: `user` (a delegated token) or `app`
   * ({@link isAppOnly}). An agent of Microsoft Entra Agent ID, told by the facet claims: `agentUser` when the
   * subject is an agent's user account (`xms_sub_fct` holds `13`); else, when the actor or the subject is an agent
   * identity (`xms_act_fct` or `xms_sub_fct` holds `11`), `agent` for an app-only token (the agent acting alone)
   * and `agentForUser` for a delegated one. {@link isAppOnly} still says how permissions are read: `roles` for
   * `app` and `agent`, `scp` for the others.
   */
  readonly callerType: CallerType
  /**
   * The agent behind the token (its identity's application ID and its blueprint), when {@link callerType} is
   * `agent`, `agentForUser` or `agentUser`; else `null`.
   */
  readonly agent: EntraAgent | null

  constructor(claims: EntraAccessTokenClaims, tokenVersion: TokenVersion, b2cTenant: string | undefined) {
    this.claims = deepFreeze(claims)
    // An agent acting alone may carry `scp: "/"`, which the agent claims reference defines as "unscoped": no scope.
    this.scopes = typeof claims.scp === 'string' ? new FrozenSet(claims.scp.split(' ').filter((s) => s !== '' && s !== '/')) : EMPTY
    this.roles = Array.isArray(claims.roles) ? new FrozenSet(claims.roles) : EMPTY
    const b2c = b2cTenant !== undefined
    this.tenantId = b2c ? str(claims.tid) ?? (TENANT_IN_ISSUER_PATH.exec(claims.iss)?.[1] ?? b2cTenant) : claims.tid
    // B2C names the user by `sub` (its object ID) and emits `oid` only when the user flow is told to.
    this.objectId = b2c ? str(claims.oid) ?? str(claims.sub) : str(claims.oid)
    this.subject = str(claims.sub)
    this.clientAppId = str(claims.azp) ?? str(claims.appid)
    this.name = str(claims.name)
    this.username = str(claims.preferred_username) ?? str(claims.upn) ?? str(claims.unique_name)
    this.isAppOnly = claims.idtyp === 'app' ||
      (claims.idtyp !== 'user' && this.scopes.size === 0 && this.objectId !== null && this.objectId === this.subject)
    this.tokenVersion = tokenVersion
    this.accountType = this.isAppOnly ? null : b2c ? 'member' : accountTypeOf(claims)
    this.callerType = callerTypeOf(claims, this.isAppOnly)
    this.agent = this.callerType === 'user' || this.callerType === 'app'
      ? null
      : Object.freeze({ appId: this.clientAppId, blueprintAppId: isGuid(claims.xms_par_app_azp) ? claims.xms_par_app_azp : null })
    Object.freeze(this)
  }

  /** True for the three agent caller types: `agent`, `agentForUser`, `agentUser` (see {@link callerType}). */
  get isAgent(): boolean {
    return this.agent !== null
  }

  /**
   * The facet claims (`xms_act_fct`, `xms_sub_fct`, `xms_tnt_fct`, `xms_idrel`) as numbers, unknown values
   * included, each list empty when its claim is absent. Read once, on first use.
   */
  get facets(): EntraFacets {
    let facets = facetsOf.get(this)
    if (facets === undefined) {
      const { claims } = this
      facets = Object.freeze({
        actor: facetValues(claims.xms_act_fct),
        subject: facetValues(claims.xms_sub_fct),
        tenant: facetValues(claims.xms_tnt_fct),
        identityRelationship: facetValues(claims.xms_idrel)
      })
      facetsOf.set(this, facets)
    }
    return facets
  }

  /** When the token expires (`exp`). */
  get expiresAt(): Date {
    // A new Date on each read: a Date is mutable, and this identity is shared.
    return new Date(this.claims.exp * 1000)
  }
}

/**
 * Builds the identity of verified claims. `scp` and `roles` have been type-checked by the verifier. `b2cTenant`
 * (the configured B2C tenant) makes it a B2C identity, see {@link EntraIdentity}.
 */
export function toIdentity(claims: EntraAccessTokenClaims, tokenVersion: TokenVersion, b2cTenant?: string): EntraIdentity {
  return new EntraIdentity(claims, tokenVersion, b2cTenant)
}

function str(value: unknown): string | null {
  return typeof value === 'string' && value !== '' ? value : null
}

export type { EntraIdentity, CallerType }

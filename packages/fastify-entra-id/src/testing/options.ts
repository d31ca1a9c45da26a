// What a TestIssuer is told and what it tells: its options, behaviours and the records it keeps.
import type { JWK } from 'jose'

/** How the issuer answers, to simulate an identity provider that is down, failing, slow or broken. */
export type IssuerBehaviour =
  | 'normal'
  /** Connections are reset: what a client sees when the provider is unreachable. */
  | 'down'
  /** HTTP 500. */
  | 'http-500'
  /** HTTP 200 with a body that is not JSON. */
  | 'garbage'
  /** Normal answers after {@link BehaviourOptions.delayMs}. */
  | 'slow'

/** Which endpoints a behaviour applies to. */
export type EndpointKind = 'discovery-v1' | 'discovery-v2' | 'jwks-v1' | 'jwks-v2'

/** Options of {@link TestIssuer.setBehaviour}. */
export interface BehaviourOptions {
  /** For `slow`: how long to wait before answering, in milliseconds. Default 10000. */
  delayMs?: number
  /** Apply only to these endpoints. Default: all. */
  only?: readonly EndpointKind[]
  /** B2C: apply only to these policies' endpoints (any case). Default: every endpoint. */
  policies?: readonly string[]
}

/** Options of {@link TestIssuerOptions.b2c}: the issuer serves Azure AD B2C's policy endpoints too. */
export interface TestB2cOptions {
  /**
   * The user flows served, each at `/{tenant}/{policy}/v2.0/.well-known/openid-configuration` and
   * `/{tenant}/{policy}/discovery/v2.0/keys` (`{tenant}` the tenant ID or one of `domains`); other policies are
   * answered 404. Their issuer is `{issuerBaseUrl}/{tenantId}/v2.0/`, with B2C's final `/`.
   */
  policies: readonly string[]
  /**
   * Give each policy a signing key of its own, published only in its key set and signing its tokens (B2C custom
   * policies can have their own keys). Default `false`: every policy publishes the issuer's keys.
   */
  separateKeys?: boolean
  /** Publish B2C's legacy issuer, `{issuerBaseUrl}/tfp/{tenantId}/{policy}/v2.0/`, in the documents. Default `false`. */
  legacyIssuer?: boolean
}

/** Options of {@link TestIssuer.mintB2c}. Times are seconds. */
export interface B2cMintOptions extends Pick<MintOptions, 'audience' | 'scopes' | 'roles' | 'name' | 'clientAppId' | 'expiresIn' | 'notBefore' | 'now' | 'claims' | 'header' | 'kid'> {
  /** The user flow that issued it. Default: the first of {@link TestB2cOptions.policies}. */
  policy?: string
  /** Which claim names the policy: `tfp` (default, B2C's current form) or `acr` (the older one). */
  policyClaim?: 'tfp' | 'acr'
  /** `sub`, B2C's object ID of the user. Default: a random GUID. No `oid` nor `tid` unless given in `claims`. */
  subject?: string
}

/** Options of {@link startTestIssuer}. */
export interface TestIssuerOptions {
  /** The default tenant's ID. Default: a random GUID. */
  tenantId?: string
  /** The default audience of minted tokens: the API's client ID. Default: a random GUID. */
  clientId?: string
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string
  /** Port to listen on. Default 0 (any free port). */
  port?: number
  /**
   * The origin that names the issuer in `iss`, in the discovery documents' `issuer` and in the keys' `issuer`
   * fields, e.g. `http://127.0.0.1:8081`. Default: the URL it listens on. A `{tenantid}` in it is replaced by the
   * tenant's ID, for an issuer whose host differs from the authority's as External ID's does:
   * `https://{tenantid}.ciamlogin.com` makes `https://<tenant ID>.ciamlogin.com/<tenant ID>/v2.0`. Keep it fixed to have tokens stay
   * valid when the issuer starts again on another port; discovery and keys are still served where it listens.
   */
  issuerBaseUrl?: string
  /**
   * Private RSA signing keys (JWK, with `kid`) to start with, e.g. keys saved by {@link TestIssuer.exportKeys}
   * so tokens survive a restart. Default: one new RSA 2048 key.
   */
  keys?: readonly JWK[]
  /** Verified domains that resolve to a tenant, e.g. `{ 'contoso.example': tenantId }`. Default: none. */
  domains?: Readonly<Record<string, string>>
  /**
   * Put an `issuer` field on the v1 key set's keys too. Entra puts it only on v2 key sets (default `false`);
   * turn it on to exercise the signing-key issuer rule with v1 tokens.
   */
  v1KeysCarryIssuer?: boolean
  /**
   * Serve Azure AD B2C's per-policy discovery documents and key sets too (see {@link TestB2cOptions}); mint their
   * tokens with {@link TestIssuer.mintB2c}. Default: none.
   */
  b2c?: TestB2cOptions
}

/** Options of {@link TestIssuer.mint}. Times are seconds. */
export interface MintOptions {
  /** Token version: 2 (`ver: "2.0"`, v2 issuer, `azp`) or 1 (`ver: "1.0"`, v1 issuer, `appid`). Default 2. */
  version?: 1 | 2
  /** `aud`. Default: the issuer's `clientId`. */
  audience?: string
  /** `tid` and the issuer's tenant. Default: the issuer's `tenantId`. */
  tenantId?: string
  /** Delegated scopes, joined into `scp`. Default: none (then `roles` or `appOnly` should be given). */
  scopes?: readonly string[]
  /** App roles, as `roles`. Default: none. */
  roles?: readonly string[]
  /**
   * An application calling as itself: `idtyp: "app"`, `sub` equal to `oid`, no user claims. Default `false`
   * (a delegated user token).
   */
  appOnly?: boolean
  /**
   * A token of Microsoft Entra Agent ID, with the claims Microsoft Learn's "Token claims reference for agents" shows
   * for each way an agent calls (`xms_act_fct`, `xms_sub_fct`, `xms_idrel`, `idtyp`, `xms_par_app_azp`; the agent
   * identity's application ID is {@link clientAppId}, as `azp` in v2 and `appid` in v1):
   * - `'agent'`: acting on its own, the reference's example token: `idtyp: "app"`, `xms_act_fct: "3 9 11"`,
   *   `xms_sub_fct: "9 3 11"`, `xms_tnt_fct: "3 9"`, `xms_idrel: "7 10"`, no user claims (as {@link appOnly}).
   * - `'agentForUser'`: acting for a signed-in user ({@link objectId}): `idtyp: "user"`, `xms_act_fct: "11"`,
   *   `xms_idrel: "1"`.
   * - `'agentUser'`: acting through its own user account ({@link objectId}): `idtyp: "user"`, `xms_act_fct: "11"`,
   *   `xms_sub_fct: "13"`, `xms_idrel: "1"`.
   * Default: none (a user's or an application's token).
   */
  agent?: 'agent' | 'agentForUser' | 'agentUser'
  /**
   * The agent identity blueprint's application ID, as `xms_par_app_azp` (agent tokens only); `null` leaves the
   * claim out. Default {@link TEST_BLUEPRINT_APP_ID}.
   */
  blueprintAppId?: string | null
  /** `oid`. Default: a GUID derived from nothing (random per call). */
  objectId?: string
  /** `name` of the user (delegated tokens). Default `"Test User"`. */
  name?: string
  /** `preferred_username` (v2) or `upn` (v1). Default `"user@<tenant>.example"`. */
  username?: string
  /** The calling application's client ID (`azp` or `appid`). Default: a fixed test client GUID. */
  clientAppId?: string
  /** Lifetime from now (`exp = now + expiresIn`), in seconds; negative for an already expired token. Default 3600. */
  expiresIn?: number
  /** `nbf` relative to now, in seconds. Default 0 (valid from now). */
  notBefore?: number
  /** "Now" for this token, in seconds since the epoch. Default: the real clock. */
  now?: number
  /** Claims to add or override; a value of `undefined` removes the claim. */
  claims?: Readonly<Record<string, unknown>>
  /** Protected-header parameters to add or override (`kid`, `alg`, `jku`...); `undefined` removes one. */
  header?: Readonly<Record<string, unknown>>
  /** Sign with this key (by `kid`) instead of the current signing key. */
  kid?: string
}

/**
 * Options of {@link TestIssuer.mintIdToken}: an ID token's user, tenant and times, as in {@link MintOptions}.
 * Times are seconds.
 */
export interface IdTokenOptions extends Pick<MintOptions, 'version' | 'tenantId' | 'objectId' | 'name' | 'username' | 'expiresIn' | 'now' | 'claims' | 'header' | 'kid'> {
  /** `aud`: the client application the ID token was issued to. Default {@link TEST_CLIENT_APP_ID}. */
  audience?: string
  /** `nonce`, as the client sent it in its sign-in request. Default: a random GUID. */
  nonce?: string
  /** The user's app roles of the client application (`roles`), which ID tokens may carry. Default: none. */
  roles?: readonly string[]
}

/** One request the issuer received. */
export interface IssuerRequest {
  readonly kind: EndpointKind | 'other'
  readonly path: string
  /** The query string, with its `?` (`?appid=...`), or `''`. */
  readonly query: string
}

/** The client ID that minted tokens name as their calling application unless told otherwise. */
export const TEST_CLIENT_APP_ID = '0c2c3f6e-7d3a-4b8e-9a51-5f0d7f3b6c01'

/** The agent identity blueprint that minted agent tokens name (`xms_par_app_azp`) unless told otherwise. */
export const TEST_BLUEPRINT_APP_ID = '5b1f9a2e-3c4d-4e6f-8a7b-9c0d1e2f3a4b'

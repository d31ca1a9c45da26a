import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { randomUUID } from 'node:crypto'
import type { JWK } from 'jose'
import { MULTI_TENANT, TENANT_TEMPLATE, fillTenant } from '../util/entra-urls.js'
import { IssuerRoutes } from './issuer-routes.js'
import { KeyRing } from './key-ring.js'
import { accessTokenClaims, b2cTokenClaims, idTokenClaims, signToken } from './minting.js'
import type { B2cMintOptions, BehaviourOptions, EndpointKind, IdTokenOptions, IssuerBehaviour, IssuerRequest, MintOptions, TestB2cOptions, TestIssuerOptions } from './options.js'

/**
 * A local OpenID issuer shaped like Microsoft Entra ID: v1 and v2 discovery documents and key sets for any
 * tenant and for `organizations`/`common`, served over real HTTP on loopback, signing real RS256 tokens.
 * For tests and local development only: its keys are not protected and it serves anyone.
 */
export class TestIssuer {
  /** The authority host to give the plugin: `http://127.0.0.1:<port>`. */
  readonly url: string
  /** The default tenant. */
  readonly tenantId: string
  /** The default audience (the API's client ID). */
  readonly clientId: string
  /** Every request received, in order. */
  readonly requests: IssuerRequest[] = []

  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  readonly #v1KeysCarryIssuer: boolean
  readonly #issuerBase: string
  readonly #keys: KeyRing
  readonly #b2c: Required<TestB2cOptions> | null
  readonly #routes: IssuerRoutes

  private constructor(server: Server, url: string, options: Required<Pick<TestIssuerOptions, 'tenantId' | 'clientId'>> & TestIssuerOptions, keys: KeyRing) {
    this.#server = server
    this.url = url
    this.#issuerBase = (options.issuerBaseUrl ?? url).replace(/\/+$/, '')
    this.tenantId = options.tenantId
    this.clientId = options.clientId
    this.#v1KeysCarryIssuer = options.v1KeysCarryIssuer ?? false
    this.#keys = keys
    this.#b2c = options.b2c === undefined
      ? null
      : { policies: [...options.b2c.policies], separateKeys: options.b2c.separateKeys ?? false, legacyIssuer: options.b2c.legacyIssuer ?? false }
    this.#routes = new IssuerRoutes({
      url,
      tenantId: this.tenantId,
      domains: new Map(Object.entries(options.domains ?? {}).map(([d, t]) => [d.toLowerCase(), t])),
      b2cPolicies: this.#b2c?.policies ?? null,
      issuerOrigin: (tenantId) => this.#baseFor(tenantId),
      jwks: (version, tenantId, appId) => this.jwks(version, tenantId, appId),
      b2cIssuer: (policy) => this.b2cIssuer(policy),
      policyJwks: (policy) => this.#keys.policyJwks(policy)
    }, this.requests)
    server.on('request', (req, res) => { this.#routes.handle(req, res) })
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
    })
  }

  /** @internal Use {@link startTestIssuer}. */
  static async start(options: TestIssuerOptions = {}): Promise<TestIssuer> {
    const keys = await KeyRing.create(options.keys, options.b2c?.separateKeys === true ? options.b2c.policies : [])
    const server = createServer({ keepAliveTimeout: 1000 })
    const host = options.host ?? '127.0.0.1'
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port ?? 0, host, () => { server.off('error', reject); resolve() })
    })
    const { port } = server.address() as AddressInfo
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
    return new TestIssuer(server, url, {
      ...options,
      tenantId: (options.tenantId ?? randomUUID()).toLowerCase(),
      clientId: options.clientId ?? randomUUID()
    }, keys)
  }

  /** The `iss` of a token of `version` for `tenantId` (default: the issuer's tenant). */
  issuer(version: 1 | 2, tenantId: string = this.tenantId): string {
    const base = this.#baseFor(tenantId)
    return version === 2 ? `${base}/${tenantId}/v2.0` : `${base}/${tenantId}/`
  }

  /**
   * The `iss` of a B2C token: `{issuerBaseUrl}/{tenantId}/v2.0/`, with B2C's final `/`; with `legacyIssuer`, the
   * legacy form `{issuerBaseUrl}/tfp/{tenantId}/{policy}/v2.0/` (the policy as configured, by default the first).
   */
  b2cIssuer(policy?: string, legacy: boolean = this.#b2c?.legacyIssuer ?? false): string {
    const base = this.#baseFor(this.tenantId)
    const named = policy ?? this.#b2c?.policies[0] ?? 'B2C_1_signupsignin'
    return legacy ? `${base}/tfp/${this.tenantId}/${named}/v2.0/` : `${base}/${this.tenantId}/v2.0/`
  }

  /** The issuer origin for `tenantId`: `issuerBaseUrl` with its `{tenantid}` filled in. */
  #baseFor(tenantId: string): string {
    return fillTenant(this.#issuerBase, tenantId)
  }

  /** The `kid` of the key that signs new tokens. */
  get signingKid(): string {
    return this.#keys.signingKid
  }

  /** The `kid`s of every published key. */
  get kids(): readonly string[] {
    return this.#keys.kids
  }

  /** Mints a signed access token. With no options: a v2 delegated token for the issuer's tenant and client ID. */
  async mint(options: MintOptions = {}): Promise<string> {
    return signToken(accessTokenClaims(this, options), options, this.#keys.key(options.kid))
  }

  /**
   * Mints a signed OpenID Connect ID token, shaped as Entra issues one to a client at sign-in: `aud` is the client
   * application (not the API), a `nonce`, the user's claims, and no `scp`, `azp` or `appid`. For testing that an
   * API refuses ID tokens sent in place of access tokens (`ENTRA_TOKEN_ID_TOKEN`). With no options: a v2 ID
   * token for the issuer's tenant, issued to {@link TEST_CLIENT_APP_ID}.
   */
  async mintIdToken(options: IdTokenOptions = {}): Promise<string> {
    return signToken(idTokenClaims(this, options), options, this.#keys.key(options.kid))
  }

  /**
   * Mints a signed Azure AD B2C access token, shaped as B2C issues one: `iss` the B2C issuer (final `/`), the
   * policy in `tfp` (or `acr`), `sub` the user, `ver: "1.0"` (as B2C says), `azp`, `scp`, and no `tid` or `oid`
   * unless given in `claims`. Signed by the policy's own key with `separateKeys`, else the signing key.
   */
  async mintB2c(options: B2cMintOptions = {}): Promise<string> {
    const policy = options.policy ?? this.#b2c?.policies[0] ?? 'B2C_1_signupsignin'
    return signToken(b2cTokenClaims(this, policy, options), options, this.#keys.key(options.kid ?? this.#keys.policyKid(policy)))
  }

  /**
   * Adds a key published only in the key sets served with `?appid={appId}` (and its discovery documents, whose
   * `jwks_uri` then carries the same `appid`), as Entra publishes the keys of an application with a
   * claims-mapping policy. It signs no token unless named in {@link MintOptions.kid}. Returns its `kid`.
   */
  async addAppKey(appId: string): Promise<string> {
    return this.#keys.addAppKey(appId)
  }

  /** Adds a new signing key, publishes it and makes it sign new tokens; old keys stay published. Returns its `kid`. */
  async rotateKeys(): Promise<string> {
    return this.#keys.rotate()
  }

  /** Adds a key that is published but does not sign new tokens (unless named in {@link MintOptions.kid}). */
  async addKey(): Promise<string> {
    return this.#keys.add()
  }

  /** Stops publishing a key. The signing key moves to the newest remaining key. */
  removeKey(kid: string): void {
    this.#keys.remove(kid)
  }

  /** The private signing keys, to save and pass back as {@link TestIssuerOptions.keys}. */
  exportKeys(): JWK[] {
    return this.#keys.exportKeys()
  }

  /**
   * The public key set as served for `tenantId` and `version`; with `appId`, as served at `?appid=`: the tenant's
   * keys and the application's own (see {@link addAppKey}).
   */
  jwks(version: 1 | 2 = 2, tenantId: string = this.tenantId, appId?: string): { keys: JWK[] } {
    const issuer = version === 2 || this.#v1KeysCarryIssuer
      ? (MULTI_TENANT.has(tenantId) ? `${this.#issuerBase}/${TENANT_TEMPLATE}/v2.0` : `${this.#baseFor(tenantId)}/${tenantId}/v2.0`)
      : undefined
    return this.#keys.jwks(issuer, appId)
  }

  /**
   * Publishes key `kid` with a fixed `issuer` field in every key set that carries issuers, as Entra does for
   * keys that sign for one tenant only (the personal-account keys in the `common` key set). `null` undoes it.
   */
  pinKeyIssuer(kid: string, issuer: string | null): void {
    this.#keys.pinIssuer(kid, issuer)
  }

  /** Changes how the issuer answers from now on (`normal` to recover). */
  setBehaviour(behaviour: IssuerBehaviour, options: BehaviourOptions = {}): void {
    this.#routes.setBehaviour(behaviour, options)
  }

  /** How many requests of `kind` were received (all requests without `kind`). */
  count(kind?: EndpointKind): number {
    return kind === undefined ? this.requests.length : this.requests.filter((r) => r.kind === kind).length
  }

  /** Forgets the requests received so far. */
  resetCounts(): void {
    this.requests.length = 0
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}

/**
 * Starts a {@link TestIssuer} on loopback. Point the plugin at it with `authorityHost: issuer.url`,
 * `tenantId: issuer.tenantId`, `clientId: issuer.clientId`, and call `issuer.close()` when done.
 *
 * @example
 * ```ts
 * const issuer = await startTestIssuer()
 * await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
 * const token = await issuer.mint({ scopes: ['Todo.Read'] })
 * ```
 */
export function startTestIssuer(options: TestIssuerOptions = {}): Promise<TestIssuer> {
  return TestIssuer.start(options)
}

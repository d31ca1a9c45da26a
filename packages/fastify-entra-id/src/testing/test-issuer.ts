import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { randomUUID } from 'node:crypto'
import { SignJWT } from 'jose'
import type { JWK } from 'jose'
import { GUID, MULTI_TENANT, b2cDiscoveryDocument, discoveryDocument, routeOf, send } from './endpoints.js'
import { importSigningKey, newSigningKey } from './signing-keys.js'
import type { SigningKey } from './signing-keys.js'
import type { Route } from './endpoints.js'
import { TEST_CLIENT_APP_ID } from './options.js'
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
  readonly #domains: ReadonlyMap<string, string>
  readonly #v1KeysCarryIssuer: boolean
  readonly #issuerBase: string
  #keys: SigningKey[]
  #signingKid: string
  readonly #pinnedIssuers = new Map<string, string>()
  readonly #b2c: Required<TestB2cOptions> | null
  /** B2C policies' own signing keys (`separateKeys`), by lower-case policy name. */
  readonly #policyKeys = new Map<string, SigningKey>()
  /** Keys published only at `?appid=` for one application, by application ID (lower case). */
  readonly #appKeys = new Map<string, SigningKey[]>()
  #behaviour: IssuerBehaviour = 'normal'
  #behaviourOptions: BehaviourOptions = {}

  private constructor(server: Server, url: string, options: Required<Pick<TestIssuerOptions, 'tenantId' | 'clientId'>> & TestIssuerOptions, keys: SigningKey[], policyKeys: ReadonlyMap<string, SigningKey>) {
    this.#server = server
    this.url = url
    this.#issuerBase = (options.issuerBaseUrl ?? url).replace(/\/+$/, '')
    this.tenantId = options.tenantId
    this.clientId = options.clientId
    this.#domains = new Map(Object.entries(options.domains ?? {}).map(([d, t]) => [d.toLowerCase(), t]))
    this.#v1KeysCarryIssuer = options.v1KeysCarryIssuer ?? false
    this.#keys = keys
    this.#signingKid = (keys[0] as SigningKey).kid
    this.#b2c = options.b2c === undefined
      ? null
      : { policies: [...options.b2c.policies], separateKeys: options.b2c.separateKeys ?? false, legacyIssuer: options.b2c.legacyIssuer ?? false }
    for (const [policy, key] of policyKeys) this.#policyKeys.set(policy, key)
    server.on('request', (req, res) => { this.#handle(req, res) })
    server.on('connection', (socket: Socket) => {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
    })
  }

  /** @internal Use {@link startTestIssuer}. */
  static async start(options: TestIssuerOptions = {}): Promise<TestIssuer> {
    const keys = options.keys !== undefined && options.keys.length > 0
      ? await Promise.all(options.keys.map(importSigningKey))
      : [await newSigningKey()]
    const server = createServer({ keepAliveTimeout: 1000 })
    const host = options.host ?? '127.0.0.1'
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(options.port ?? 0, host, () => { server.off('error', reject); resolve() })
    })
    const { port } = server.address() as AddressInfo
    const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`
    const policyKeys = new Map<string, SigningKey>()
    if (options.b2c?.separateKeys === true) {
      for (const policy of options.b2c.policies) policyKeys.set(policy.toLowerCase(), await newSigningKey())
    }
    return new TestIssuer(server, url, {
      ...options,
      tenantId: (options.tenantId ?? randomUUID()).toLowerCase(),
      clientId: options.clientId ?? randomUUID()
    }, keys, policyKeys)
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
    return this.#issuerBase.replace('{tenantid}', tenantId)
  }

  /** The `kid` of the key that signs new tokens. */
  get signingKid(): string {
    return this.#signingKid
  }

  /** The `kid`s of every published key. */
  get kids(): readonly string[] {
    return this.#keys.map((k) => k.kid)
  }

  /** Mints a signed access token. With no options: a v2 delegated token for the issuer's tenant and client ID. */
  async mint(options: MintOptions = {}): Promise<string> {
    const version = options.version ?? 2
    const tid = options.tenantId ?? this.tenantId
    const now = options.now ?? Math.floor(Date.now() / 1000)
    const oid = options.objectId ?? randomUUID()
    const clientAppId = options.clientAppId ?? TEST_CLIENT_APP_ID
    const claims: Record<string, unknown> = {
      aud: options.audience ?? this.clientId,
      iss: this.issuer(version, tid),
      iat: now,
      nbf: now + (options.notBefore ?? 0),
      exp: now + (options.expiresIn ?? 3600),
      tid,
      oid,
      sub: options.appOnly === true ? oid : randomUUID(),
      ver: version === 2 ? '2.0' : '1.0',
      uti: randomUUID().replace(/-/g, '').slice(0, 22),
      rh: '0.AAAA-test-issuer.'
    }
    claims[version === 2 ? 'azp' : 'appid'] = clientAppId
    claims[version === 2 ? 'azpacr' : 'appidacr'] = '1'
    if (options.appOnly === true) {
      claims.idtyp = 'app'
    } else {
      claims.name = options.name ?? 'Test User'
      claims[version === 2 ? 'preferred_username' : 'upn'] = options.username ?? `user@${tid.slice(0, 8)}.example`
    }
    if (options.scopes !== undefined && options.scopes.length > 0) claims.scp = options.scopes.join(' ')
    if (options.roles !== undefined && options.roles.length > 0) claims.roles = [...options.roles]
    return this.#sign(claims, options)
  }

  /**
   * Mints a signed OpenID Connect ID token, shaped as Entra issues one to a client at sign-in: `aud` is the client
   * application (not the API), a `nonce`, the user's claims, and no `scp`, `azp` or `appid`. For testing that an
   * API refuses ID tokens sent in place of access tokens (`ENTRA_TOKEN_ID_TOKEN`). With no options: a v2 ID
   * token for the issuer's tenant, issued to {@link TEST_CLIENT_APP_ID}.
   */
  async mintIdToken(options: IdTokenOptions = {}): Promise<string> {
    const version = options.version ?? 2
    const tid = options.tenantId ?? this.tenantId
    const now = options.now ?? Math.floor(Date.now() / 1000)
    const username = options.username ?? `user@${tid.slice(0, 8)}.example`
    const claims: Record<string, unknown> = {
      aud: options.audience ?? TEST_CLIENT_APP_ID,
      iss: this.issuer(version, tid),
      iat: now,
      nbf: now,
      exp: now + (options.expiresIn ?? 3600),
      tid,
      oid: options.objectId ?? randomUUID(),
      sub: randomUUID(),
      ver: version === 2 ? '2.0' : '1.0',
      nonce: options.nonce ?? randomUUID(),
      name: options.name ?? 'Test User',
      uti: randomUUID().replace(/-/g, '').slice(0, 22),
      rh: '0.AAAA-test-issuer.'
    }
    if (version === 2) {
      claims.preferred_username = username
    } else {
      claims.upn = username
      claims.unique_name = username
    }
    if (options.roles !== undefined && options.roles.length > 0) claims.roles = [...options.roles]
    return this.#sign(claims, options)
  }

  /**
   * Mints a signed Azure AD B2C access token, shaped as B2C issues one: `iss` the B2C issuer (final `/`), the
   * policy in `tfp` (or `acr`), `sub` the user, `ver: "1.0"` (as B2C says), `azp`, `scp`, and no `tid` or `oid`
   * unless given in `claims`. Signed by the policy's own key with `separateKeys`, else the signing key.
   */
  async mintB2c(options: B2cMintOptions = {}): Promise<string> {
    const policy = options.policy ?? this.#b2c?.policies[0] ?? 'B2C_1_signupsignin'
    const now = options.now ?? Math.floor(Date.now() / 1000)
    const claims: Record<string, unknown> = {
      iss: this.b2cIssuer(policy),
      exp: now + (options.expiresIn ?? 3600),
      nbf: now + (options.notBefore ?? 0),
      aud: options.audience ?? this.clientId,
      sub: options.subject ?? randomUUID(),
      name: options.name ?? 'Test Customer',
      [options.policyClaim ?? 'tfp']: policy,
      azp: options.clientAppId ?? TEST_CLIENT_APP_ID,
      ver: '1.0',
      iat: now,
      auth_time: now
    }
    if (options.scopes !== undefined && options.scopes.length > 0) claims.scp = options.scopes.join(' ')
    if (options.roles !== undefined && options.roles.length > 0) claims.roles = [...options.roles]
    const own = this.#policyKeys.get(policy.toLowerCase())
    const kid = options.kid ?? own?.kid
    return this.#sign(claims, kid === undefined ? options : { ...options, kid })
  }

  /**
   * Adds a key published only in the key sets served with `?appid={appId}` (and its discovery documents, whose
   * `jwks_uri` then carries the same `appid`), as Entra publishes the keys of an application with a
   * claims-mapping policy. It signs no token unless named in {@link MintOptions.kid}. Returns its `kid`.
   */
  async addAppKey(appId: string): Promise<string> {
    const key = await newSigningKey()
    const id = appId.toLowerCase()
    this.#appKeys.set(id, [...(this.#appKeys.get(id) ?? []), key])
    return key.kid
  }

  /** Adds a new signing key, publishes it and makes it sign new tokens; old keys stay published. Returns its `kid`. */
  async rotateKeys(): Promise<string> {
    const key = await newSigningKey()
    this.#keys = [...this.#keys, key]
    this.#signingKid = key.kid
    return key.kid
  }

  /** Adds a key that is published but does not sign new tokens (unless named in {@link MintOptions.kid}). */
  async addKey(): Promise<string> {
    const key = await newSigningKey()
    this.#keys = [...this.#keys, key]
    return key.kid
  }

  /** Stops publishing a key. The signing key moves to the newest remaining key. */
  removeKey(kid: string): void {
    const rest = this.#keys.filter((k) => k.kid !== kid)
    if (rest.length === 0) throw new Error('TestIssuer: cannot remove the last key')
    this.#keys = rest
    if (this.#signingKid === kid) this.#signingKid = (rest[rest.length - 1] as SigningKey).kid
  }

  /** The private signing keys, to save and pass back as {@link TestIssuerOptions.keys}. */
  exportKeys(): JWK[] {
    return this.#keys.map((k) => ({ ...k.privateJwk }))
  }

  /**
   * The public key set as served for `tenantId` and `version`; with `appId`, as served at `?appid=`: the tenant's
   * keys and the application's own (see {@link addAppKey}).
   */
  jwks(version: 1 | 2 = 2, tenantId: string = this.tenantId, appId?: string): { keys: JWK[] } {
    const issuer = version === 2 || this.#v1KeysCarryIssuer
      ? (MULTI_TENANT.has(tenantId) ? `${this.#issuerBase}/{tenantid}/v2.0` : `${this.#baseFor(tenantId)}/${tenantId}/v2.0`)
      : undefined
    const appKeys = appId === undefined ? [] : (this.#appKeys.get(appId.toLowerCase()) ?? [])
    return {
      keys: [...this.#keys, ...appKeys].map((k) => {
        const keyIssuer = issuer === undefined ? undefined : (this.#pinnedIssuers.get(k.kid) ?? issuer)
        return keyIssuer === undefined ? { ...k.publicJwk } : { ...k.publicJwk, issuer: keyIssuer }
      })
    }
  }

  /**
   * Publishes key `kid` with a fixed `issuer` field in every key set that carries issuers, as Entra does for
   * keys that sign for one tenant only (the personal-account keys in the `common` key set). `null` undoes it.
   */
  pinKeyIssuer(kid: string, issuer: string | null): void {
    if (issuer === null) this.#pinnedIssuers.delete(kid)
    else this.#pinnedIssuers.set(kid, issuer)
  }

  /** Changes how the issuer answers from now on (`normal` to recover). */
  setBehaviour(behaviour: IssuerBehaviour, options: BehaviourOptions = {}): void {
    this.#behaviour = behaviour
    this.#behaviourOptions = options
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

  /** Signs `claims` (with its `claims` overrides applied) under the header Entra uses, with its `header` overrides. */
  #sign(claims: Record<string, unknown>, options: Pick<MintOptions, 'claims' | 'header' | 'kid'>): Promise<string> {
    applyOverrides(claims, options.claims)
    const key = options.kid === undefined ? this.#key(this.#signingKid) : this.#key(options.kid)
    const header: Record<string, unknown> = { alg: 'RS256', typ: 'JWT', kid: key.kid, x5t: key.kid }
    applyOverrides(header, options.header)
    return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey)
  }

  #key(kid: string): SigningKey {
    const key = this.#keys.find((k) => k.kid === kid) ??
      [...this.#policyKeys.values()].find((k) => k.kid === kid) ??
      [...this.#appKeys.values()].flat().find((k) => k.kid === kid)
    if (key === undefined) throw new Error(`TestIssuer: no key ${kid}`)
    return key
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const requested = new URL(req.url ?? '/', this.url)
    const path = requested.pathname
    const route = routeOf(path)
    this.requests.push({ kind: route?.kind ?? 'other', path, query: requested.search })
    if (route === null || req.method !== 'GET') {
      send(res, 404, { error: 'not_found' })
      return
    }
    const policies = this.#behaviourOptions.policies
    const applies = (this.#behaviourOptions.only === undefined || this.#behaviourOptions.only.includes(route.kind)) &&
      (policies === undefined || (route.policy !== undefined && policies.some((p) => p.toLowerCase() === route.policy)))
    const behaviour = applies ? this.#behaviour : 'normal'
    switch (behaviour) {
      case 'down':
        req.socket.destroy()
        return
      case 'http-500':
        send(res, 500, { error: 'temporarily_unavailable' })
        return
      case 'garbage':
        res.writeHead(200, { 'content-type': 'application/json' }).end('<html>Service Unavailable</html>')
        return
      case 'slow': {
        const timer = setTimeout(() => { if (!res.destroyed) this.#answer(route, res) }, this.#behaviourOptions.delayMs ?? 10_000)
        res.on('close', () => clearTimeout(timer))
        return
      }
      case 'normal':
        this.#answer(route, res, requested.searchParams.get('appid') ?? undefined)
    }
  }

  #answer(route: Route, res: ServerResponse, appId?: string): void {
    if (route.policy !== undefined) {
      this.#answerB2c(route, route.policy, res)
      return
    }
    const tenant = MULTI_TENANT.has(route.tenant) ? route.tenant : (this.#domains.get(route.tenant) ?? route.tenant)
    if (!MULTI_TENANT.has(tenant) && !GUID.test(tenant)) {
      // What Entra answers for an unknown tenant (AADSTS90002).
      send(res, 400, { error: 'invalid_tenant', error_description: `AADSTS90002: Tenant '${route.tenant}' not found.` })
      return
    }
    const tid = MULTI_TENANT.has(tenant) ? '{tenantid}' : tenant
    // `?appid=` is passed on to the key set, as Entra's application-specific documents do.
    const query = appId === undefined ? '' : `?appid=${encodeURIComponent(appId)}`
    const base = this.#baseFor(tid)
    switch (route.kind) {
      case 'discovery-v2':
        send(res, 200, discoveryDocument(2, this.url, base, tenant, tid, query))
        return
      case 'discovery-v1':
        send(res, 200, discoveryDocument(1, this.url, base, tenant, tid, query))
        return
      case 'jwks-v2':
        send(res, 200, this.jwks(2, tenant, appId))
        return
      case 'jwks-v1':
        send(res, 200, this.jwks(1, tenant, appId))
    }
  }

  /** A B2C policy endpoint: its discovery document, or its key set (no `issuer` fields: B2C's keys carry none). */
  #answerB2c(route: Route, policy: string, res: ServerResponse): void {
    const tenant = this.#domains.get(route.tenant) ?? route.tenant
    const configured = this.#b2c?.policies.find((p) => p.toLowerCase() === policy)
    if (tenant !== this.tenantId || configured === undefined) {
      // What B2C answers for a policy it does not have (AADB2C90008-like errors come on the authorize endpoint).
      send(res, 404, { error: 'not_found', error_description: `The policy '${policy}' does not exist in tenant '${route.tenant}'.` })
      return
    }
    if (route.kind === 'discovery-v2') {
      send(res, 200, b2cDiscoveryDocument(this.url, route.tenant, policy, this.b2cIssuer(configured)))
      return
    }
    const own = this.#policyKeys.get(policy)
    send(res, 200, { keys: (own === undefined ? this.#keys : [own]).map((k) => ({ ...k.publicJwk })) })
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

function applyOverrides(target: Record<string, unknown>, overrides: Readonly<Record<string, unknown>> | undefined): void {
  if (overrides === undefined) return
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) Reflect.deleteProperty(target, name)
    else target[name] = value
  }
}


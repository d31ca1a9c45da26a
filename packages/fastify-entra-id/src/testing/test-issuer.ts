import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { randomUUID } from 'node:crypto'
import { SignJWT, exportJWK, generateKeyPair, importJWK, calculateJwkThumbprint } from 'jose'
import type { CryptoKey, JWK } from 'jose'

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
   * fields, e.g. `http://127.0.0.1:8081`. Default: the URL it listens on. Keep it fixed to have tokens stay
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

/** One request the issuer received. */
export interface IssuerRequest {
  readonly kind: EndpointKind | 'other'
  readonly path: string
}

interface SigningKey {
  readonly kid: string
  readonly privateJwk: JWK
  readonly privateKey: CryptoKey
  readonly publicJwk: JWK
}

const MULTI_TENANT = new Set(['common', 'organizations'])
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i
/** The client ID that minted tokens name as their calling application unless told otherwise. */
export const TEST_CLIENT_APP_ID = '0c2c3f6e-7d3a-4b8e-9a51-5f0d7f3b6c01'

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
  #behaviour: IssuerBehaviour = 'normal'
  #behaviourOptions: BehaviourOptions = {}

  private constructor(server: Server, url: string, options: Required<Pick<TestIssuerOptions, 'tenantId' | 'clientId'>> & TestIssuerOptions, keys: SigningKey[]) {
    this.#server = server
    this.url = url
    this.#issuerBase = (options.issuerBaseUrl ?? url).replace(/\/+$/, '')
    this.tenantId = options.tenantId
    this.clientId = options.clientId
    this.#domains = new Map(Object.entries(options.domains ?? {}).map(([d, t]) => [d.toLowerCase(), t]))
    this.#v1KeysCarryIssuer = options.v1KeysCarryIssuer ?? false
    this.#keys = keys
    this.#signingKid = (keys[0] as SigningKey).kid
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
    return new TestIssuer(server, url, {
      ...options,
      tenantId: (options.tenantId ?? randomUUID()).toLowerCase(),
      clientId: options.clientId ?? randomUUID()
    }, keys)
  }

  /** The `iss` of a token of `version` for `tenantId` (default: the issuer's tenant). */
  issuer(version: 1 | 2, tenantId: string = this.tenantId): string {
    return version === 2 ? `${this.#issuerBase}/${tenantId}/v2.0` : `${this.#issuerBase}/${tenantId}/`
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
    applyOverrides(claims, options.claims)

    const key = options.kid === undefined ? this.#key(this.#signingKid) : this.#key(options.kid)
    const header: Record<string, unknown> = { alg: 'RS256', typ: 'JWT', kid: key.kid, x5t: key.kid }
    applyOverrides(header, options.header)
    return new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(key.privateKey)
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

  /** The public key set as served for `tenantId` and `version`. */
  jwks(version: 1 | 2 = 2, tenantId: string = this.tenantId): { keys: JWK[] } {
    const issuer = version === 2 || this.#v1KeysCarryIssuer
      ? (MULTI_TENANT.has(tenantId) ? `${this.#issuerBase}/{tenantid}/v2.0` : `${this.#issuerBase}/${tenantId}/v2.0`)
      : undefined
    return {
      keys: this.#keys.map((k) => {
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

  #key(kid: string): SigningKey {
    const key = this.#keys.find((k) => k.kid === kid)
    if (key === undefined) throw new Error(`TestIssuer: no key ${kid}`)
    return key
  }

  #handle(req: IncomingMessage, res: ServerResponse): void {
    const path = new URL(req.url ?? '/', this.url).pathname
    const route = this.#route(path)
    this.requests.push({ kind: route?.kind ?? 'other', path })
    if (route === null || req.method !== 'GET') {
      send(res, 404, { error: 'not_found' })
      return
    }
    const applies = this.#behaviourOptions.only === undefined || this.#behaviourOptions.only.includes(route.kind)
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
        this.#answer(route, res)
    }
  }

  #route(path: string): { kind: EndpointKind, tenant: string } | null {
    const match = /^\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|\.well-known\/openid-configuration|discovery\/v2\.0\/keys|discovery\/keys)$/.exec(path)
    if (match === null) return null
    const tenant = (match[1] as string).toLowerCase()
    const kinds: Record<string, EndpointKind> = {
      'v2.0/.well-known/openid-configuration': 'discovery-v2',
      '.well-known/openid-configuration': 'discovery-v1',
      'discovery/v2.0/keys': 'jwks-v2',
      'discovery/keys': 'jwks-v1'
    }
    return { kind: kinds[match[2] as string] as EndpointKind, tenant }
  }

  #answer(route: { kind: EndpointKind, tenant: string }, res: ServerResponse): void {
    const tenant = MULTI_TENANT.has(route.tenant) ? route.tenant : (this.#domains.get(route.tenant) ?? route.tenant)
    if (!MULTI_TENANT.has(tenant) && !GUID.test(tenant)) {
      // What Entra answers for an unknown tenant (AADSTS90002).
      send(res, 400, { error: 'invalid_tenant', error_description: `AADSTS90002: Tenant '${route.tenant}' not found.` })
      return
    }
    const tid = MULTI_TENANT.has(tenant) ? '{tenantid}' : tenant
    switch (route.kind) {
      case 'discovery-v2':
        send(res, 200, this.#document(2, tenant, tid))
        return
      case 'discovery-v1':
        send(res, 200, this.#document(1, tenant, tid))
        return
      case 'jwks-v2':
        send(res, 200, this.jwks(2, tenant))
        return
      case 'jwks-v1':
        send(res, 200, this.jwks(1, tenant))
    }
  }

  #document(version: 1 | 2, pathTenant: string, tid: string): Record<string, unknown> {
    const base = `${this.url}/${pathTenant}`
    return version === 2
      ? {
          issuer: `${this.#issuerBase}/${tid}/v2.0`,
          jwks_uri: `${base}/discovery/v2.0/keys`,
          authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
          token_endpoint: `${base}/oauth2/v2.0/token`,
          id_token_signing_alg_values_supported: ['RS256'],
          response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
          subject_types_supported: ['pairwise'],
          scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
          tenant_region_scope: null,
          cloud_instance_name: 'test-issuer.localhost'
        }
      : {
          issuer: `${this.#issuerBase}/${tid}/`,
          jwks_uri: `${base}/discovery/keys`,
          authorization_endpoint: `${base}/oauth2/authorize`,
          token_endpoint: `${base}/oauth2/token`,
          id_token_signing_alg_values_supported: ['RS256'],
          response_types_supported: ['code', 'id_token', 'code id_token', 'token id_token', 'token'],
          subject_types_supported: ['pairwise'],
          tenant_region_scope: null,
          cloud_instance_name: 'test-issuer.localhost'
        }
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

async function newSigningKey(): Promise<SigningKey> {
  const { privateKey } = await generateKeyPair('RS256', { modulusLength: 2048, extractable: true })
  const privateJwk = await exportJWK(privateKey)
  // Entra's kid is the certificate's SHA-1 thumbprint; a JWK thumbprint is as unique and needs no certificate.
  privateJwk.kid = await calculateJwkThumbprint(privateJwk, 'sha256')
  privateJwk.alg = 'RS256'
  return importSigningKey(privateJwk)
}

async function importSigningKey(privateJwk: JWK): Promise<SigningKey> {
  if (privateJwk.kty !== 'RSA' || typeof privateJwk.kid !== 'string' || privateJwk.d === undefined) {
    throw new TypeError('TestIssuer: keys must be private RSA JWKs with a kid')
  }
  const privateKey = await importJWK({ ...privateJwk, alg: 'RS256' }, 'RS256') as CryptoKey
  const { n, e, kid } = privateJwk
  if (n === undefined || e === undefined) throw new TypeError('TestIssuer: RSA keys need n and e')
  const publicJwk: JWK = { kty: 'RSA', use: 'sig', kid, x5t: kid, n, e }
  return { kid, privateJwk: { ...privateJwk }, privateKey, publicJwk }
}

function applyOverrides(target: Record<string, unknown>, overrides: Readonly<Record<string, unknown>> | undefined): void {
  if (overrides === undefined) return
  for (const [name, value] of Object.entries(overrides)) {
    if (value === undefined) Reflect.deleteProperty(target, name)
    else target[name] = value
  }
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  res.end(JSON.stringify(body))
}

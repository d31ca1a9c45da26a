import { createServer as createHttpsServer } from 'node:https'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { X509Certificate } from 'node:crypto'
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose'
import { GRAPH_APP_ID } from '../util/microsoft-graph.js'
import type { TestIssuer } from './test-issuer.js'
import { send } from './endpoints.js'

/** How a {@link TestTokenEndpoint} answers on-behalf-of requests. */
export type TokenEndpointBehaviour =
  /** Issues a token signed by the issuer. */
  | 'normal'
  /** 400 `interaction_required` with `claims` (Conditional Access on the downstream API, AADSTS50076). */
  | 'interaction-required'
  /** 400 `invalid_grant` AADSTS65001, `suberror` `consent_required`: no consent for the downstream permission. */
  | 'consent-required'
  /** 503 `temporarily_unavailable`. */
  | 'http-503'
  /** Accepts the request and never answers. */
  | 'hang'

/** One request to the token endpoint, as received. */
export interface TokenEndpointRequest {
  /** The tenant in the path. */
  readonly tenant: string
  /** Every form field, as sent (the assertion and the client credential included: redact before printing). */
  readonly form: Readonly<Record<string, string>>
  /** The status answered. */
  status: number
  /** The claims of the token issued, when one was. */
  issued?: Readonly<Record<string, unknown>>
}

/** Options of {@link startTestTokenEndpoint}. */
export interface TestTokenEndpointOptions {
  /** The TLS key and certificate (PEM) to serve with: msal-node requires an https authority. */
  readonly tls: { readonly key: string, readonly cert: string }
  /** The API (the OBO client): its client ID, which incoming tokens' `aud` must be. Default: the issuer's. */
  readonly clientId?: string
  /** The client secret to accept. Default: none. */
  readonly clientSecret?: string
  /** A certificate (PEM) whose key may sign client assertions. Default: none. */
  readonly clientCertificate?: string
  /** A federated client assertion (the token file's content) to accept, read when each request arrives. */
  readonly federatedAssertion?: () => string
  /** The `aud` of issued tokens. Default {@link GRAPH_APP_ID}. */
  readonly downstreamAudience?: string
}

/**
 * A local Entra token endpoint over https implementing the on-behalf-of grant (RFC 7523 jwt-bearer with
 * `requested_token_use=on_behalf_of`): it checks the client's credential and that the assertion is a token of
 * `issuer` for the API, and answers with a token for the downstream API signed by `issuer`, for the same user.
 * Its `url` is the authority host to give the plugin and msal-node.
 */
export class TestTokenEndpoint {
  /** `https://127.0.0.1:<port>`. */
  readonly url: string
  /** Every request received, in order. */
  readonly requests: TokenEndpointRequest[] = []
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  readonly #issuer: TestIssuer
  readonly #options: TestTokenEndpointOptions
  #behaviour: TokenEndpointBehaviour = 'normal'
  #claims = '{"access_token":{"capolids":{"essential":true,"values":["c1a2b3c4-0000-4000-8000-000000000001"]}}}'

  private constructor(server: Server, url: string, issuer: TestIssuer, options: TestTokenEndpointOptions) {
    this.#server = server
    this.url = url
    this.#issuer = issuer
    this.#options = options
    server.on('request', (req: IncomingMessage, res: ServerResponse) => { void this.#handle(req, res) })
    server.on('secureConnection', (socket: Socket) => {
      this.#sockets.add(socket)
      socket.on('close', () => this.#sockets.delete(socket))
    })
  }

  /** @internal Use {@link startTestTokenEndpoint}. */
  static async start(issuer: TestIssuer, options: TestTokenEndpointOptions): Promise<TestTokenEndpoint> {
    const server = createHttpsServer({ key: options.tls.key, cert: options.tls.cert, keepAliveTimeout: 1000 })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    return new TestTokenEndpoint(server, `https://127.0.0.1:${port}`, issuer, options)
  }

  /** Changes how on-behalf-of requests are answered from now on; `claims` is the claims request of `interaction-required`. */
  setBehaviour(behaviour: TokenEndpointBehaviour, claims?: string): void {
    this.#behaviour = behaviour
    if (claims !== undefined) this.#claims = claims
  }

  /** How many token requests were received. */
  count(): number {
    return this.requests.length
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', this.url).pathname
    const tenant = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(path)?.[1]
    if (req.method !== 'POST' || tenant === undefined) {
      send(res, 404, { error: 'not_found' })
      return
    }
    const chunks: Buffer[] = []
    for await (const chunk of req) chunks.push(chunk as Buffer)
    const form = Object.fromEntries(new URLSearchParams(Buffer.concat(chunks).toString('utf8')))
    const entry: TokenEndpointRequest = { tenant, form, status: 0 }
    this.requests.push(entry)
    const answer = (status: number, body: unknown): void => { entry.status = status; send(res, status, body) }

    if (this.#behaviour === 'hang') return
    if (this.#behaviour === 'http-503') {
      answer(503, { error: 'temporarily_unavailable', error_description: 'AADSTS90033: A transient error has occurred.', error_codes: [90033] })
      return
    }
    const clientId = this.#options.clientId ?? this.#issuer.clientId
    if (form.client_id !== clientId || !(await this.#clientAuthenticated(form, `${this.url}${path}`))) {
      answer(401, { error: 'invalid_client', error_description: 'AADSTS7000215: Invalid client secret provided.', error_codes: [7000215] })
      return
    }
    if (form.grant_type !== 'urn:ietf:params:oauth:grant-type:jwt-bearer' || form.requested_token_use !== 'on_behalf_of') {
      answer(400, { error: 'unsupported_grant_type', error_description: 'AADSTS70003: The app requested an unsupported grant type.', error_codes: [70003] })
      return
    }
    let user: Record<string, unknown>
    try {
      const jwks = createLocalJWKSet(this.#issuer.jwks(2, tenant))
      user = (await jwtVerify(form.assertion ?? '', jwks, { audience: [clientId, `api://${clientId}`], issuer: this.#issuer.issuer(2, tenant) })).payload
    } catch {
      answer(400, { error: 'invalid_grant', error_description: 'AADSTS50013: Assertion failed signature validation.', error_codes: [50013] })
      return
    }
    if (this.#behaviour === 'interaction-required') {
      answer(400, {
        error: 'interaction_required',
        error_description: 'AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access the downstream API.',
        error_codes: [50076],
        suberror: 'basic_action',
        claims: this.#claims
      })
      return
    }
    if (this.#behaviour === 'consent-required') {
      answer(400, {
        error: 'invalid_grant',
        error_description: `AADSTS65001: The user or administrator has not consented to use the application with ID '${clientId}'. Send an interactive authorization request for this user and resource.`,
        error_codes: [65001],
        suberror: 'consent_required'
      })
      return
    }
    const scopes = (form.scope ?? '').split(' ').filter((s) => /^https?:\/\//.test(s))
    const accessToken = await this.#issuer.mint({
      tenantId: tenant,
      ...(typeof user.oid === 'string' ? { objectId: user.oid } : {}),
      ...(typeof user.name === 'string' ? { name: user.name } : {}),
      ...(typeof user.preferred_username === 'string' ? { username: user.preferred_username } : {}),
      audience: this.#options.downstreamAudience ?? GRAPH_APP_ID,
      clientAppId: clientId,
      scopes: scopes.map((s) => s.slice(s.lastIndexOf('/') + 1))
    })
    entry.issued = decodeJwt(accessToken)
    answer(200, { token_type: 'Bearer', scope: scopes.join(' '), expires_in: 3600, ext_expires_in: 3600, access_token: accessToken })
  }

  async #clientAuthenticated(form: Record<string, string>, tokenEndpoint: string): Promise<boolean> {
    if (form.client_secret !== undefined) return this.#options.clientSecret !== undefined && form.client_secret === this.#options.clientSecret
    if (form.client_assertion_type !== 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer' || form.client_assertion === undefined) return false
    if (this.#options.federatedAssertion !== undefined && form.client_assertion === this.#options.federatedAssertion()) return true
    if (this.#options.clientCertificate === undefined) return false
    try {
      const key = new X509Certificate(this.#options.clientCertificate).publicKey
      // Entra allows five minutes of clock skew on client assertions (msal-node rounds its `nbf` up to the second).
      const { payload } = await jwtVerify(form.client_assertion, key, { audience: tokenEndpoint, clockTolerance: 300 })
      return payload.iss === form.client_id && payload.sub === form.client_id
    } catch {
      return false
    }
  }
}

/** Starts a {@link TestTokenEndpoint} on loopback for tokens of `issuer`. */
export function startTestTokenEndpoint(issuer: TestIssuer, options: TestTokenEndpointOptions): Promise<TestTokenEndpoint> {
  return TestTokenEndpoint.start(issuer, options)
}

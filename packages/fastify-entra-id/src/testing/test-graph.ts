import { createServer } from 'node:http'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createLocalJWKSet, decodeJwt, jwtVerify } from 'jose'
import { GRAPH_APP_ID } from '../util/microsoft-graph.js'
import type { TestIssuer } from './test-issuer.js'

/** How a {@link TestGraph} answers `/v1.0/me`. */
export type TestGraphBehaviour = 'normal' | 'claims-challenge' | 'hang'

/**
 * A local stand-in for Microsoft Graph's `GET /v1.0/me`, over http on loopback: it verifies the bearer token (signed
 * by `issuer`, for Graph, with the `User.Read` scope) and answers the user's profile from its claims; or, as Graph
 * does under continuous access evaluation, a 401 claims challenge.
 */
export class TestGraph {
  /** `http://127.0.0.1:<port>`: the Graph base URL. */
  readonly url: string
  /** Every request received, in order: its path, the status answered, and the `aud` and `scp` of its token. */
  readonly requests: { path: string, status: number, audience?: unknown, scopes?: unknown }[] = []
  /** The `jobTitle` answered. */
  jobTitle = 'Test Engineer'
  readonly #server: Server
  readonly #issuer: TestIssuer
  #behaviour: TestGraphBehaviour = 'normal'
  #claims = '{"access_token":{"nbf":{"essential":true,"value":"1764600000"}}}'

  private constructor(server: Server, url: string, issuer: TestIssuer) {
    this.#server = server
    this.url = url
    this.#issuer = issuer
    server.on('request', (req: IncomingMessage, res: ServerResponse) => { void this.#handle(req, res) })
  }

  /** @internal Use {@link startTestGraph}. */
  static async start(issuer: TestIssuer): Promise<TestGraph> {
    const server = createServer({ keepAliveTimeout: 1000 })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const { port } = server.address() as AddressInfo
    return new TestGraph(server, `http://127.0.0.1:${port}`, issuer)
  }

  /** Changes how `/v1.0/me` answers; `claims` is the claims request of `claims-challenge`. */
  setBehaviour(behaviour: TestGraphBehaviour, claims?: string): void {
    this.#behaviour = behaviour
    if (claims !== undefined) this.#claims = claims
  }

  /** Stops listening and closes every connection. */
  async close(): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  async #handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', this.url).pathname
    const entry: { path: string, status: number, audience?: unknown, scopes?: unknown } = { path, status: 0 }
    this.requests.push(entry)
    const answer = (status: number, body: unknown, headers: Record<string, string> = {}): void => {
      entry.status = status
      res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(JSON.stringify(body))
    }
    if (req.method !== 'GET' || path !== '/v1.0/me') {
      answer(404, { error: { code: 'Request_ResourceNotFound', message: 'Not found' } })
      return
    }
    if (this.#behaviour === 'hang') return
    const token = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1]
    let claims: Record<string, unknown>
    try {
      const tid = String(decodeJwt(token ?? '').tid)
      claims = (await jwtVerify(token ?? '', createLocalJWKSet(this.#issuer.jwks(2, tid)), { audience: GRAPH_APP_ID, issuer: this.#issuer.issuer(2, tid) })).payload
    } catch {
      answer(401, { error: { code: 'InvalidAuthenticationToken', message: 'Access token validation failure.' } },
        { 'www-authenticate': 'Bearer realm="", error="invalid_token"' })
      return
    }
    entry.audience = claims.aud
    entry.scopes = claims.scp
    if (typeof claims.scp !== 'string' || !claims.scp.split(' ').includes('User.Read')) {
      answer(403, { error: { code: 'Authorization_RequestDenied', message: 'Insufficient privileges to complete the operation.' } })
      return
    }
    if (this.#behaviour === 'claims-challenge') {
      const encoded = Buffer.from(this.#claims, 'utf8').toString('base64')
      answer(401, { error: { code: 'InvalidAuthenticationToken', message: 'Continuous access evaluation resulted in challenge with result: InteractionRequired and code: TokenIssuedBeforeRevocationTimestamp' } },
        { 'www-authenticate': `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="${GRAPH_APP_ID}", error="insufficient_claims", claims="${encoded}"` })
      return
    }
    answer(200, {
      id: claims.oid,
      displayName: claims.name,
      mail: claims.preferred_username,
      userPrincipalName: claims.preferred_username,
      jobTitle: this.jobTitle
    })
  }
}

/** Starts a {@link TestGraph} on loopback for tokens of `issuer`. */
export function startTestGraph(issuer: TestIssuer): Promise<TestGraph> {
  return TestGraph.start(issuer)
}

// What a TestIssuer answers on HTTP: Entra's discovery documents and key sets, B2C's policy endpoints, and the
// failures a test asks for (down, 500, garbage, slow).

import type { IncomingMessage, ServerResponse } from 'node:http'
import type { JWK } from 'jose'
import { MULTI_TENANT, TENANT_TEMPLATE } from '../util/entra-urls.js'
import { isGuid } from '../util/guid.js'
import { b2cDiscoveryDocument, discoveryDocument, routeOf, send } from './endpoints.js'
import type { Route } from './endpoints.js'
import type { BehaviourOptions, IssuerBehaviour, IssuerRequest } from './options.js'

/** What the endpoints serve, from the issuer. */
export interface ServedIssuer {
  /** Where it listens: the base of `jwks_uri` and of the other endpoints. */
  readonly url: string
  readonly tenantId: string
  /** Verified domains (lower case) and their tenant IDs. */
  readonly domains: ReadonlyMap<string, string>
  /** B2C's policies, as configured, or null when it serves no B2C endpoints. */
  readonly b2cPolicies: readonly string[] | null
  /** The origin of `tenantId`'s issuer (with `{tenantid}`: the template's). */
  issuerOrigin(tenantId: string): string
  jwks(version: 1 | 2, tenantId: string, appId?: string): { keys: JWK[] }
  b2cIssuer(policy: string): string
  /** A policy's key set, by lower-case name. */
  policyJwks(policy: string): { keys: JWK[] }
}

/** The issuer's HTTP endpoints: each request is recorded, then answered as the current behaviour says. */
export class IssuerRoutes {
  readonly #issuer: ServedIssuer
  readonly #requests: IssuerRequest[]
  #behaviour: IssuerBehaviour = 'normal'
  #behaviourOptions: BehaviourOptions = {}

  /** Endpoints of `issuer`, recording every request in `requests`. */
  constructor(issuer: ServedIssuer, requests: IssuerRequest[]) {
    this.#issuer = issuer
    this.#requests = requests
  }

  /** See TestIssuer.setBehaviour. */
  setBehaviour(behaviour: IssuerBehaviour, options: BehaviourOptions): void {
    this.#behaviour = behaviour
    this.#behaviourOptions = options
  }

  handle(req: IncomingMessage, res: ServerResponse): void {
    const requested = new URL(req.url ?? '/', this.#issuer.url)
    const path = requested.pathname
    const route = routeOf(path)
    this.#requests.push({ kind: route?.kind ?? 'other', path, query: requested.search })
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
    const issuer = this.#issuer
    const tenant = MULTI_TENANT.has(route.tenant) ? route.tenant : (issuer.domains.get(route.tenant) ?? route.tenant)
    if (!MULTI_TENANT.has(tenant) && !isGuid(tenant)) {
      // What Entra answers for an unknown tenant (AADSTS90002).
      send(res, 400, { error: 'invalid_tenant', error_description: `AADSTS90002: Tenant '${route.tenant}' not found.` })
      return
    }
    const tid = MULTI_TENANT.has(tenant) ? TENANT_TEMPLATE : tenant
    // `?appid=` is passed on to the key set, as Entra's application-specific documents do.
    const query = appId === undefined ? '' : `?appid=${encodeURIComponent(appId)}`
    const base = issuer.issuerOrigin(tid)
    switch (route.kind) {
      case 'discovery-v2':
        send(res, 200, discoveryDocument(2, issuer.url, base, tenant, tid, query))
        return
      case 'discovery-v1':
        send(res, 200, discoveryDocument(1, issuer.url, base, tenant, tid, query))
        return
      case 'jwks-v2':
        send(res, 200, issuer.jwks(2, tenant, appId))
        return
      case 'jwks-v1':
        send(res, 200, issuer.jwks(1, tenant, appId))
    }
  }

  /** A B2C policy endpoint: its discovery document, or its key set (no `issuer` fields: B2C's keys carry none). */
  #answerB2c(route: Route, policy: string, res: ServerResponse): void {
    const issuer = this.#issuer
    const tenant = issuer.domains.get(route.tenant) ?? route.tenant
    const configured = issuer.b2cPolicies?.find((p) => p.toLowerCase() === policy)
    if (tenant !== issuer.tenantId || configured === undefined) {
      // What B2C answers for a policy it does not have (AADB2C90008-like errors come on the authorize endpoint).
      send(res, 404, { error: 'not_found', error_description: `The policy '${policy}' does not exist in tenant '${route.tenant}'.` })
      return
    }
    if (route.kind === 'discovery-v2') {
      send(res, 200, b2cDiscoveryDocument(issuer.url, route.tenant, policy, issuer.b2cIssuer(configured)))
      return
    }
    send(res, 200, issuer.policyJwks(policy))
  }
}

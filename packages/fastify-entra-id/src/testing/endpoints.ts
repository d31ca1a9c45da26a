import type { ServerResponse } from 'node:http'
import type { EndpointKind } from './options.js'

/** A request path the issuer serves: which endpoint, for which tenant (as written in the path, lower case). */
export interface Route {
  readonly kind: EndpointKind
  readonly tenant: string
  /** B2C: the policy in the path, lower case; undefined for Entra's endpoints. */
  readonly policy?: string | undefined
}

/** The endpoint of a path, or null for anything Entra would not serve there. */
export function routeOf(path: string): Route | null {
  const b2c = /^\/([^/]+)\/([^/]+)\/(v2\.0\/\.well-known\/openid-configuration|discovery\/v2\.0\/keys)$/.exec(path)
  if (b2c !== null && (b2c[2] as string).toLowerCase() !== 'v2.0' && (b2c[2] as string).toLowerCase() !== 'discovery') {
    return {
      kind: b2c[3] === 'discovery/v2.0/keys' ? 'jwks-v2' : 'discovery-v2',
      tenant: (b2c[1] as string).toLowerCase(),
      policy: (b2c[2] as string).toLowerCase()
    }
  }
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

/** The v1 or v2 discovery document of `pathTenant`, whose issuer names `tid` (or `{tenantid}`), as Entra's. */
export function discoveryDocument(version: 1 | 2, url: string, issuerBase: string, pathTenant: string, tid: string, query = ''): Record<string, unknown> {
  const base = `${url}/${pathTenant}`
  return version === 2
    ? {
        issuer: `${issuerBase}/${tid}/v2.0`,
        jwks_uri: `${base}/discovery/v2.0/keys${query}`,
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
        issuer: `${issuerBase}/${tid}/`,
        jwks_uri: `${base}/discovery/keys${query}`,
        authorization_endpoint: `${base}/oauth2/authorize`,
        token_endpoint: `${base}/oauth2/token`,
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'token id_token', 'token'],
        subject_types_supported: ['pairwise'],
        tenant_region_scope: null,
        cloud_instance_name: 'test-issuer.localhost'
      }
}

/** A B2C policy's discovery document, shaped as B2C's (`issuer` as given: B2C's ends with `/`). */
export function b2cDiscoveryDocument(url: string, pathTenant: string, policy: string, issuer: string): Record<string, unknown> {
  const base = `${url}/${pathTenant}/${policy}`
  return {
    issuer,
    authorization_endpoint: `${base}/oauth2/v2.0/authorize`,
    token_endpoint: `${base}/oauth2/v2.0/token`,
    end_session_endpoint: `${base}/oauth2/v2.0/logout`,
    jwks_uri: `${base}/discovery/v2.0/keys`,
    response_modes_supported: ['query', 'fragment', 'form_post'],
    response_types_supported: ['code', 'code id_token', 'code token', 'code id_token token', 'id_token', 'id_token token', 'token', 'token id_token'],
    scopes_supported: ['openid'],
    subject_types_supported: ['pairwise'],
    id_token_signing_alg_values_supported: ['RS256'],
    token_endpoint_auth_methods_supported: ['client_secret_post', 'client_secret_basic'],
    claims_supported: ['name', 'emails', 'idp', 'sub', 'tfp', 'iss', 'iat', 'exp', 'aud', 'acr', 'nonce', 'auth_time']
  }
}

/** A JSON answer, never cached. */
export function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  res.end(JSON.stringify(body))
}

import { EntraConfigError } from '../util/config-error.js'
import { isGuid } from '../util/guid.js'
import { httpsUrl } from '../util/https-url.js'
import type { EntraTokenVerifier } from '../core/verification/verifier.js'

/**
 * A protected resource whose RFC 9728 metadata the plugin publishes: what an OAuth client (an MCP client, say)
 * reads to learn which authorization server issues tokens for it and which scopes to ask for.
 */
export interface ProtectedResourceOptions {
  /**
   * The resource identifier, exactly as clients name it and as the metadata's `resource` says: an absolute
   * `https` URL (`http` only for loopback hosts), without query or fragment, e.g. `https://todo.contoso.com/mcp`.
   * Configured, never built from a request's `Host` header. Requests whose path is the identifier's path, or
   * under it, are this resource's: their challenges carry `resource_metadata`. It must be one of the plugin's
   * `audience` values, exactly, and must not end with `/`: clients send it to Entra as the `resource` parameter,
   * which Entra accepts only when it is an Application ID URI of the API (else AADSTS9010010). Required.
   */
  resource: string
  /**
   * `scopes_supported`: the scopes a client requests for this resource, as full strings under the resource's App
   * ID URI (`https://todo.contoso.com/mcp/Todo.Read`). A 403 `insufficient_scope` of a request under the resource
   * names a required scope by the entry that ends with it, so a client (an MCP client stepping up) can request it
   * from Entra as is. Default: none (the member is then omitted).
   */
  scopes?: readonly string[] | undefined
  /** `resource_name`: a human-readable name, e.g. `Todo MCP server`. Default: none. */
  resourceName?: string | undefined
  /** `resource_documentation`: a URL of human-readable documentation (https, or loopback http). Default: none. */
  resourceDocumentation?: string | undefined
}

/** A validated protected resource: its metadata document's path and URL, and the request paths it covers. */
export interface ProtectedResource {
  readonly resource: string
  /** The option it was given as, `protectedResources[1]`: what an error about it names. */
  readonly option: string
  /** The request path the resource covers: `/mcp` (and `/mcp/...`), or `/` for the whole origin. */
  readonly path: string
  /** Where its metadata is served, `/.well-known/oauth-protected-resource` + the resource's path. */
  readonly metadataPath: string
  /** The absolute URL of the metadata, as `resource_metadata` names it. */
  readonly metadataUrl: string
  readonly scopes: readonly string[]
  readonly resourceName: string | undefined
  readonly resourceDocumentation: string | undefined
}

const WELL_KNOWN = '/.well-known/oauth-protected-resource'
// Scope strings: no whitespace (the list is space-separated in challenges), no quotes or backslashes.
const SCOPE = /^[\x21\x23-\x5b\x5d-\x7e]+$/
const TEXT = /^[\x20-\x21\x23-\x5b\x5d-\x7e\u00a0-\uffff]{1,200}$/

/** Validates the `protectedResources` option. @throws {@link EntraConfigError} naming the option at fault. */
export function resolveProtectedResources(value: unknown): readonly ProtectedResource[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw new EntraConfigError('protectedResources', 'must be an array of { resource, scopes?, resourceName?, resourceDocumentation? }')
  const resources = value.map((entry: unknown, i) => resolveOne(entry, `protectedResources[${i}]`))
  const paths = new Set<string>()
  for (const [i, { path }] of resources.entries()) {
    if (paths.has(path)) throw new EntraConfigError(`protectedResources[${i}].resource`, `has the same path (${path}) as another resource: each needs its own metadata document`)
    paths.add(path)
  }
  // Longest path first: a request belongs to the most specific resource.
  return resources.sort((a, b) => b.path.length - a.path.length)
}

function resolveOne(entry: unknown, option: string): ProtectedResource {
  if (entry === null || typeof entry !== 'object') throw new EntraConfigError(option, 'must be { resource, scopes?, resourceName?, resourceDocumentation? }')
  const { resource, scopes, resourceName, resourceDocumentation } = entry as Record<string, unknown>
  const url = absoluteUrl(resource, `${option}.resource`)
  if (url.search !== '' || (resource as string).includes('?')) throw new EntraConfigError(`${option}.resource`, 'must not have a query')
  if (scopes !== undefined && !(Array.isArray(scopes) && scopes.every((s) => typeof s === 'string' && SCOPE.test(s)))) {
    throw new EntraConfigError(`${option}.scopes`, 'must be an array of scope strings without spaces or quotes, e.g. api://<client ID>/Todo.Read')
  }
  if (resourceName !== undefined && (typeof resourceName !== 'string' || !TEXT.test(resourceName))) {
    throw new EntraConfigError(`${option}.resourceName`, 'must be 1 to 200 printable characters without quotes')
  }
  if (resourceDocumentation !== undefined) absoluteUrl(resourceDocumentation, `${option}.resourceDocumentation`)
  const path = url.pathname
  const metadataPath = path === '/' ? WELL_KNOWN : `${WELL_KNOWN}${path}`
  return {
    resource: resource as string,
    option,
    path,
    metadataPath,
    metadataUrl: `${url.origin}${metadataPath}`,
    scopes: Object.freeze([...(scopes as string[] | undefined) ?? []]),
    resourceName,
    resourceDocumentation: resourceDocumentation as string | undefined
  }
}

function absoluteUrl(value: unknown, option: string): URL {
  const url = httpsUrl(value)
  if (url === undefined) {
    throw new EntraConfigError(option, 'must be an absolute https URL (http only for loopback hosts), without credentials or a fragment')
  }
  return url
}

/** The resource `path` (a request's URL path, without query) belongs to, if any. */
export function resourceOf(resources: readonly ProtectedResource[], url: string): ProtectedResource | undefined {
  if (resources.length === 0) return undefined
  const query = url.indexOf('?')
  const path = query === -1 ? url : url.slice(0, query)
  return resources.find((r) => r.path === '/' || path === r.path || path.startsWith(r.path.endsWith('/') ? r.path : `${r.path}/`))
}

/** What the metadata documents need from the verifier: the loaded v2 issuer, when discovery has loaded. */
export interface AuthorizationServerSource {
  readonly authorityHost: string
  readonly tenantId: string
  readonly multiTenant: boolean
  /**
   * Whether the issuer is `{authorityHost}/{tenant ID}/v2.0`, so known before discovery for a GUID tenant: true
   * for Entra ID's workforce hosts; false for B2C and External ID, whose issuers come from discovery only.
   */
  readonly issuerFollowsAuthority?: boolean | undefined
  /** The v2 issuer of the loaded discovery document, or undefined before it has loaded. */
  loadedIssuer(): string | undefined
}

/** What `verifier`'s resources' metadata documents name as their authorization server. */
export function authorizationServerOf(verifier: EntraTokenVerifier): AuthorizationServerSource {
  const { authorityHost, tenantId, multiTenant, b2cPolicies } = verifier.options
  return {
    authorityHost,
    tenantId,
    multiTenant,
    // External ID's issuer host is the tenant ID (https://{tid}.ciamlogin.com/{tid}/v2.0), B2C's is its own:
    // neither can be built from the authority, so their metadata waits for discovery.
    issuerFollowsAuthority: b2cPolicies === null && !new URL(authorityHost).hostname.endsWith('.ciamlogin.com'),
    loadedIssuer: () => verifier.v2Issuer
  }
}

/**
 * The metadata document of `resource` (RFC 9728 §2), or undefined while its authorization server is not known:
 * `authorization_servers` is the tenant's v2 issuer as discovery names it (a multi-tenant API names the
 * `organizations` authority); before discovery has loaded, the same value is known only for a tenant given as a
 * GUID.
 */
export function resourceDocument(resource: ProtectedResource, source: AuthorizationServerSource): Record<string, unknown> | undefined {
  const server = authorizationServer(source)
  if (server === undefined) return undefined
  return {
    resource: resource.resource,
    authorization_servers: [server],
    ...(resource.scopes.length > 0 ? { scopes_supported: resource.scopes } : {}),
    bearer_methods_supported: ['header'],
    ...(resource.resourceName === undefined ? {} : { resource_name: resource.resourceName }),
    ...(resource.resourceDocumentation === undefined ? {} : { resource_documentation: resource.resourceDocumentation })
  }
}

function authorizationServer(source: AuthorizationServerSource): string | undefined {
  if (source.multiTenant) return `${source.authorityHost}/organizations/v2.0`
  const built = source.issuerFollowsAuthority !== false && isGuid(source.tenantId)
  return source.loadedIssuer() ?? (built ? `${source.authorityHost}/${source.tenantId.toLowerCase()}/v2.0` : undefined)
}

import fp from 'fastify-plugin'
import fastifyEntraId, { EntraConfigError } from 'fastify-entra-id'
import type { EntraHook, EntraIdPluginOptions } from 'fastify-entra-id'
import type { FastifyInstance } from 'fastify'
import { userScopeOrAppRole } from '../src/auth/access.js'
import { ConfigError } from '../src/config/config-error.js'
import { startDevIssuer } from '../src/auth/dev-issuer.js'
import type { DevIssuer } from '../src/auth/dev-issuer.js'
import { list } from './config.js'

/**
 * Where and how callers sign in, for the OpenAPI document and the start-up banner. The tenant, client ID,
 * authority host and audiences are the plugin's resolved options (`app.entraId.verifier.options`), defaults
 * included, so the sample never restates them.
 */
export interface AuthSettings {
  /** The tenant tokens are verified for: a tenant ID or domain, or `organizations`/`common` (lower case). */
  readonly tenantId: string
  /** The API's application (client) ID. */
  readonly clientId: string
  /** The origin that serves sign-in and discovery, e.g. `https://login.microsoftonline.com`, without a final `/`. */
  readonly authorityHost: string
  /** The `aud` values a token may carry: the plugin's defaults, or the list `AUTH_AUDIENCES` completes. */
  readonly audiences: readonly string[]
  /** `api://<clientId>`: the prefix of the scopes clients request. */
  readonly apiUri: string
  readonly scopes: { readonly read: string, readonly write: string }
  readonly roles: { readonly readAll: string, readonly writeAll: string }
  /** The local development issuer, or `null` with Entra ID. */
  readonly devIssuer: DevIssuer | null
  /** Azure AD B2C's user flows (`AZURE_B2C_POLICIES`), or `null` for Entra ID and External ID. */
  readonly b2cPolicies: readonly string[] | null
  /**
   * The protected resources (RFC 9728) the service publishes, the REST API (`{base}/api`) and the MCP server
   * (`{base}/mcp`), or `null` when it publishes none (no `PUBLIC_BASE_URL`).
   */
  readonly resources: { readonly api: PublishedResource, readonly mcp: PublishedResource } | null
}

/** A protected resource the service publishes metadata for. */
export interface PublishedResource {
  /** Its identifier, an accepted audience: `{PUBLIC_BASE_URL}/mcp`. */
  readonly resource: string
  /** The scopes clients request for it, under its identifier: `{PUBLIC_BASE_URL}/mcp/Todo.Read`. */
  readonly scopes: readonly string[]
}

/** Who may call what: one hook per kind of route, which the OpenAPI document describes from the hook itself. */
export interface Access {
  /** Users with the read scope, applications with the read-all app role. */
  readonly read: EntraHook
  /** Users with the write scope, applications with the write-all app role. */
  readonly write: EntraHook
  /** Any valid access token for this API. */
  readonly anyToken: EntraHook
}

declare module 'fastify' {
  interface FastifyInstance {
    authSettings: AuthSettings
    access: Access
  }
}

// The plugin's option names, as the variables that set them.
const VARIABLE_OF_OPTION: Readonly<Record<string, string>> = {
  tenantId: 'AZURE_TENANT_ID',
  clientId: 'AZURE_CLIENT_ID',
  authorityHost: 'AZURE_AUTHORITY_HOST',
  b2c: 'AZURE_B2C_POLICIES',
  'b2c.policies': 'AZURE_B2C_POLICIES',
  audience: 'AUTH_AUDIENCES',
  allowedTenants: 'AUTH_ALLOWED_TENANTS',
  allowGuests: 'AUTH_ALLOW_GUESTS',
  tokenVersions: 'AUTH_TOKEN_VERSIONS',
  signingKeys: 'AUTH_SIGNING_KEYS_FILE',
  'signingKeys.file': 'AUTH_SIGNING_KEYS_FILE',
  'signingKeys.issuer': 'AUTH_ISSUER',
  'signingKeys.v1Issuer': 'AUTH_V1_ISSUER'
}

async function auth(app: FastifyInstance): Promise<void> {
  const c = app.config
  let options: EntraIdPluginOptions
  let devIssuer: DevIssuer | null = null
  const allowedTenants = c.AUTH_ALLOWED_TENANTS === undefined
    ? undefined
    : (c.AUTH_ALLOWED_TENANTS.trim() === '*' ? '*' as const : list(c.AUTH_ALLOWED_TENANTS))

  if (c.AZURE_TENANT_ID === undefined) {
    // The config plugin refuses this already; checked again here because it is the one rule that must never break.
    if (c.NODE_ENV === 'production') throw new ConfigError(['AZURE_TENANT_ID is required when NODE_ENV=production'])
    try {
      devIssuer = await startDevIssuer({ dataDir: c.DATA_DIR, port: c.DEV_ISSUER_PORT })
    } catch (error) {
      // Its keys live under DATA_DIR: a directory that cannot be made or written is a setting to fix.
      const code = (error as NodeJS.ErrnoException).code
      if (code === undefined || !['EACCES', 'EPERM', 'ENOENT', 'ENOTDIR', 'EISDIR', 'EROFS', 'EEXIST', 'ENOSPC'].includes(code)) throw error
      throw new ConfigError([`DATA_DIR must be a writable directory: the development issuer cannot keep its keys in ${c.DATA_DIR} (${code})`])
    }
    const issuer = devIssuer
    app.addHook('onClose', async () => { await issuer.close() })
    app.log.warn({ authorityHost: issuer.url, tenantId: issuer.tenantId, clientId: issuer.clientId },
      'DEVELOPMENT MODE: AZURE_TENANT_ID is not set, so tokens are verified against a local development issuer ' +
      'whose keys are in DATA_DIR. Never expose this service; set AZURE_TENANT_ID and AZURE_CLIENT_ID for Entra ID.')
    if (issuer.portChanged) {
      app.log.info(`development issuer: port ${c.DEV_ISSUER_PORT} was busy, listening at ${issuer.url}; its tokens are the same (issuer ${issuer.issuerBaseUrl})`)
    }
    // A multi-tenant development API accepts tokens minted for other tenants (`npm run token -- --tenant ...`).
    options = allowedTenants === undefined
      ? { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url }
      : { tenantId: 'organizations', clientId: issuer.clientId, authorityHost: issuer.url, allowedTenants }
  } else {
    const clientId = c.AZURE_CLIENT_ID ?? ''
    options = {
      tenantId: c.AZURE_TENANT_ID,
      clientId,
      // The plugin checks it is an origin and resolves it (a final `/` dropped); the settings read it back.
      // External ID needs only this (https://<subdomain>.ciamlogin.com) and the tenant: its issuer comes from discovery.
      ...(c.AZURE_AUTHORITY_HOST === undefined ? {} : { authorityHost: c.AZURE_AUTHORITY_HOST }),
      // Azure AD B2C: the tenant is AZURE_TENANT_ID, the host AZURE_AUTHORITY_HOST, the user flows these.
      ...(c.AZURE_B2C_POLICIES === undefined ? {} : { b2c: { policies: list(c.AZURE_B2C_POLICIES) } }),
      // The plugin's `audience` replaces its default list (its documented way to add an App ID URI is to list every
      // value accepted), so adding to the defaults means naming them: the client ID and `api://<client ID>`.
      ...(c.AUTH_AUDIENCES === undefined ? {} : { audience: [clientId, `api://${clientId}`, ...list(c.AUTH_AUDIENCES)] }),
      ...(allowedTenants === undefined ? {} : { allowedTenants }),
      // A closed network: the keys from a file (re-read when it changes), the issuers stated; no discovery.
      ...(c.AUTH_SIGNING_KEYS_FILE === undefined
        ? {}
        : { signingKeys: { issuer: c.AUTH_ISSUER ?? '', file: c.AUTH_SIGNING_KEYS_FILE, ...(c.AUTH_V1_ISSUER === undefined ? {} : { v1Issuer: c.AUTH_V1_ISSUER }) } }),
      // Logs that say which setting to check (a tenant Entra does not know) name the variable, not the option.
      settingName: (option) => VARIABLE_OF_OPTION[option] ?? option
    }
  }

  // PUBLIC_BASE_URL: the service's public origin. The REST API is the resource {base}/api and the MCP server
  // {base}/mcp, each described by RFC 9728 metadata; {base}/mcp is an accepted audience, as MCP clients ask Entra
  // for a token of that App ID URI. Development mode defaults to the local URL; with Entra ID, no default: a URL
  // guessed from the request's Host header would be an injection vector.
  const base = publicBaseUrl(c, devIssuer !== null)
  let resources: AuthSettings['resources'] = null
  if (base === undefined) {
    app.log.info('PUBLIC_BASE_URL is not set: no protected-resource metadata (RFC 9728) is published and challenges name none; MCP clients cannot discover the authorization server')
  } else {
    const clientId = options.clientId
    // Scopes under each resource's own App ID URI: Entra refuses a `resource` with scopes of another (AADSTS9010010).
    const scopesOf = (resource: string) => [c.AUTH_SCOPE_READ, c.AUTH_SCOPE_WRITE].map((scope) => `${resource}/${scope}`)
    const api = `${base}/api`
    const mcp = `${base}/mcp`
    resources = { api: { resource: api, scopes: scopesOf(api) }, mcp: { resource: mcp, scopes: scopesOf(mcp) } }
    options = {
      ...options,
      // v2 tokens carry the client ID whatever URI was asked for; v1 tokens carry the URI.
      audience: [...(typeof options.audience === 'string' ? [options.audience] : options.audience ?? [clientId, `api://${clientId}`]), api, mcp],
      protectedResources: [
        { resource: api, scopes: scopesOf(api), resourceName: 'Todo REST API', resourceDocumentation: `${base}/docs` },
        { resource: mcp, scopes: scopesOf(mcp), resourceName: 'Todo MCP server' }
      ]
    }
  }

  try {
    await app.register(fastifyEntraId, {
      ...options,
      allowGuests: c.AUTH_ALLOW_GUESTS,
      // The operator's deny-list, read at request time (the store registers after this plugin); a failed read is
      // a 503, never an accepted token. `npm run revoke -- --oid <id>` writes it.
      revocation: { maxAge: c.AUTH_REVOCATION_MAX_AGE_MS, isRevoked: (facts) => app.store.isRevoked?.(facts) ?? false },
      ...(c.AUTH_TOKEN_VERSIONS === undefined ? {} : { tokenVersions: [...new Set(list(c.AUTH_TOKEN_VERSIONS).map((v) => (v === '1' ? 1 : 2)))] })
    })
  } catch (error) {
    if (error instanceof EntraConfigError) {
      const variable = error.option.startsWith('protectedResources') ? 'PUBLIC_BASE_URL' : VARIABLE_OF_OPTION[error.option] ?? error.option
      throw new ConfigError([`${variable}: ${error.message}`])
    }
    throw error
  }

  // What the plugin resolved, defaults included: one source for the OpenAPI document and the banner.
  const resolved = app.entraId.verifier.options
  const settings: AuthSettings = {
    tenantId: resolved.tenantId,
    clientId: resolved.clientId,
    authorityHost: resolved.authorityHost,
    audiences: [...resolved.audiences],
    apiUri: `api://${resolved.clientId}`,
    scopes: { read: c.AUTH_SCOPE_READ, write: c.AUTH_SCOPE_WRITE },
    roles: { readAll: c.AUTH_ROLE_READ_ALL, writeAll: c.AUTH_ROLE_WRITE_ALL },
    devIssuer,
    b2cPolicies: resolved.b2cPolicies,
    resources
  }
  app.decorate('authSettings', settings)
  app.decorate('access', {
    read: userScopeOrAppRole(c.AUTH_SCOPE_READ, c.AUTH_ROLE_READ_ALL),
    write: userScopeOrAppRole(c.AUTH_SCOPE_WRITE, c.AUTH_ROLE_WRITE_ALL),
    anyToken: app.entraId.authenticate
  } satisfies Access)
}

/** The service's public origin, without a final `/`: PUBLIC_BASE_URL, else in development mode the local URL. */
function publicBaseUrl(c: FastifyInstance['config'], development: boolean): string | undefined {
  if (c.PUBLIC_BASE_URL !== undefined) return c.PUBLIC_BASE_URL.replace(/\/+$/, '')
  // PORT 0 (tests) picks a port only at listen: no local URL can be named before.
  return development && c.PORT !== 0 ? `http://localhost:${c.PORT}` : undefined
}

/**
 * Registers fastify-entra-id from the configuration: Entra ID when `AZURE_TENANT_ID` is set, else (never in
 * production) the local development issuer. Decorates `fastify.authSettings` and `fastify.access`.
 */
export default fp(auth, { name: 'auth', fastify: '5.x', dependencies: ['config'] })

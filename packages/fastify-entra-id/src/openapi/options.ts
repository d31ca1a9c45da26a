// The options of withEntraIdSecurity: their types, with their documentation and defaults, and their checks.

import { EntraConfigError } from '../util/config-error.js'
import { authorityEndpoint } from '../util/entra-urls.js'

/** The OAuth2 authorization-code scheme (users signing in with Entra ID) of {@link EntraIdOpenApiOptions}. */
export interface OpenApiOAuth2Options {
  /** The scheme's name in `components.securitySchemes`. Default `"entraId"`. */
  readonly name?: string | undefined
  /** Default: "Users signing in with Microsoft Entra ID (authorization code with PKCE)." */
  readonly description?: string | undefined
  /**
   * Descriptions of the delegated scopes, by their short name as the guards name them (`"Todo.Read"`). The flow
   * lists these first (in this order), then every other scope a route requires, described by its name.
   * Default: none.
   */
  readonly scopes?: Readonly<Record<string, string>> | undefined
  /**
   * Where users sign in. Default `{authorityHost}/{tenantId}/oauth2/v2.0/authorize`, from the plugin's resolved
   * options: the `authorization_endpoint` Entra's v2 discovery document names, in every cloud.
   */
  readonly authorizationUrl?: string | undefined
  /** Where the code is redeemed. Default `{authorityHost}/{tenantId}/oauth2/v2.0/token` (`token_endpoint`). */
  readonly tokenUrl?: string | undefined
}

/** The HTTP bearer scheme (a pasted access token, of a user or an application) of {@link EntraIdOpenApiOptions}. */
export interface OpenApiBearerOptions {
  /** The scheme's name in `components.securitySchemes`. Default `"bearerToken"`. */
  readonly name?: string | undefined
  /** Default: "An Entra ID access token for this API, of a user or of an application (client credentials)." */
  readonly description?: string | undefined
}

/** Options of {@link withEntraIdSecurity}. */
export interface EntraIdOpenApiOptions {
  /**
   * Prepended to the scopes the guards name, to write them as clients request them: the API's App ID URI and a
   * `/`. Must end with `/`. Default `api://{clientId}/`, Entra's default App ID URI; set it when the App ID URI
   * was changed (e.g. `https://contoso.com/todo/`).
   */
  readonly scopePrefix?: string | undefined
  /**
   * The OAuth2 authorization-code scheme, for Swagger UI's sign-in (with PKCE: set Swagger UI's
   * `initOAuth.usePkceWithAuthorizationCodeGrant`), or `false` for none, e.g. against an issuer that has no
   * authorization endpoint. Default: enabled, with the defaults of {@link OpenApiOAuth2Options}.
   */
  readonly oauth2?: OpenApiOAuth2Options | false | undefined
  /** The bearer scheme, always present. */
  readonly bearer?: OpenApiBearerOptions | undefined
  /**
   * The JSON schema of an error answer's body, for the 400/401/403/503 responses added to protected routes.
   * Default: Fastify's default error body, `{ statusCode, code, error, message }`.
   */
  readonly errorSchema?: object | undefined
}

/** Fastify's default error body, `{ statusCode, code, error, message }`: the default `errorSchema`. */
const FASTIFY_ERROR = Object.freeze({
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    error: { type: 'string' },
    message: { type: 'string' }
  }
})

/** The options checked, with their defaults applied. */
export interface ResolvedOpenApiOptions {
  readonly scopePrefix: string
  /** The OAuth2 scheme, or null for none. */
  readonly oauth2: {
    readonly name: string
    readonly description: string
    readonly authorizationUrl: string
    readonly tokenUrl: string
    /** Descriptions of scopes, by short name. */
    readonly scopes: Readonly<Record<string, string>>
  } | null
  readonly bearer: { readonly name: string, readonly description: string }
  readonly errorSchema: object
}

/** What the plugin resolved that the defaults are made of. */
interface PluginSettings {
  readonly clientId: string
  readonly tenantId: string
  readonly authorityHost: string
}

/**
 * Checks `options` against the plugin's settings and the security schemes the document already has, and applies
 * the defaults. Throws {@link EntraConfigError} naming the first bad option.
 */
export function resolveOpenApiOptions(options: EntraIdOpenApiOptions, plugin: PluginSettings,
  existingSchemes: Readonly<Record<string, unknown>>): ResolvedOpenApiOptions {
  if (options === null || typeof options !== 'object') throw new EntraConfigError('options', 'must be an object')
  const scopePrefix = options.scopePrefix ?? `api://${plugin.clientId}/`
  if (typeof scopePrefix !== 'string' || !scopePrefix.endsWith('/') || scopePrefix.length < 2 || /\s/.test(scopePrefix)) {
    throw new EntraConfigError('scopePrefix', 'must be the App ID URI followed by "/", e.g. "api://<client ID>/"')
  }

  const oauth2 = options.oauth2 === false ? null : { ...options.oauth2 }
  const bearer = { ...options.bearer }
  const bearerName = schemeName(bearer.name, 'bearer.name', 'bearerToken')
  const oauth2Name = oauth2 === null ? null : schemeName(oauth2.name, 'oauth2.name', 'entraId')
  if (oauth2Name === bearerName) throw new EntraConfigError('oauth2.name', 'must differ from bearer.name')
  const described = oauth2?.scopes ?? {}
  if (described === null || typeof described !== 'object' || !Object.values(described).every((d) => typeof d === 'string')) {
    throw new EntraConfigError('oauth2.scopes', 'must map scope names to descriptions (strings)')
  }
  const errorSchema = options.errorSchema ?? FASTIFY_ERROR
  if (errorSchema === null || typeof errorSchema !== 'object') throw new EntraConfigError('errorSchema', 'must be a JSON schema (an object)')

  for (const [name, option] of [[oauth2Name, 'oauth2.name'], [bearerName, 'bearer.name']] as const) {
    if (name !== null && Object.hasOwn(existingSchemes, name)) {
      throw new EntraConfigError(option, `names the security scheme "${name}", which swaggerOptions.openapi.components.securitySchemes already has`)
    }
  }
  return {
    scopePrefix,
    oauth2: oauth2 === null || oauth2Name === null
      ? null
      : {
          name: oauth2Name,
          description: text(oauth2.description, 'oauth2.description', 'Users signing in with Microsoft Entra ID (authorization code with PKCE).'),
          authorizationUrl: url(oauth2.authorizationUrl, 'oauth2.authorizationUrl', authorityEndpoint(plugin.authorityHost, plugin.tenantId, 'authorize')),
          tokenUrl: url(oauth2.tokenUrl, 'oauth2.tokenUrl', authorityEndpoint(plugin.authorityHost, plugin.tenantId, 'token')),
          scopes: described
        },
    bearer: {
      name: bearerName,
      description: text(bearer.description, 'bearer.description', 'An Entra ID access token for this API, of a user or of an application (client credentials).')
    },
    errorSchema
  }
}

function schemeName(value: unknown, option: string, fallback: string): string {
  if (value === undefined) return fallback
  // The Components Object's key pattern (OpenAPI 3.x, 4.8.7.1).
  if (typeof value !== 'string' || !/^[a-zA-Z0-9.\-_]+$/.test(value)) throw new EntraConfigError(option, 'must be a name of letters, digits, ".", "-" and "_"')
  return value
}

function text(value: unknown, option: string, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string') throw new EntraConfigError(option, 'must be a string')
  return value
}

function url(value: unknown, option: string, fallback: string): string {
  if (value === undefined) return fallback
  if (typeof value !== 'string' || !URL.canParse(value)) throw new EntraConfigError(option, 'must be an absolute URL')
  return value
}

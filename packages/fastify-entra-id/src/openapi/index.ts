/**
 * fastify-entra-id/openapi: the OpenAPI document's security, derived from the guards.
 *
 * Nothing here is imported at run time from `@fastify/swagger` (an optional peer, used for its types only), and
 * nothing here changes how a request is decided or answered: the security, the sentence and the error answers
 * are added when @fastify/swagger builds the document, through its `transform`, never to the route's schema,
 * from which Fastify compiles its response serializers.
 *
 * @packageDocumentation
 */
import type { FastifyInstance, FastifySchema, RouteOptions } from 'fastify'
import type { FastifyDynamicSwaggerOptions, SwaggerTransform, SwaggerTransformObject } from '@fastify/swagger'
import { describeGuard } from '../core/authorization/guard-description.js'
import type { GuardDescription } from '../core/authorization/guard-description.js'
import { EntraConfigError } from '../util/config-error.js'
import { EntraUsageError } from '../core/errors/usage-error.js'
import { accessSentence, canForbid, routeAccess, securityOf } from './route-access.js'
import type { RouteAccess, SecurityRequirement } from './route-access.js'

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

/** The route hooks that can hold a guard: those that run before the handler. */
const REQUEST_HOOKS = ['onRequest', 'preParsing', 'preValidation', 'preHandler'] as const

const FASTIFY_ERROR = Object.freeze({
  type: 'object',
  properties: {
    statusCode: { type: 'integer' },
    code: { type: 'string' },
    error: { type: 'string' },
    message: { type: 'string' }
  }
})

type Document = Parameters<SwaggerTransformObject>[0] extends infer D ? D extends { openapiObject: infer O } ? O : never : never

/**
 * `@fastify/swagger` options with the Entra ID security schemes and a `transform` that gives each route the
 * `security` its guards require, a sentence saying who passes, and the 400/401/403/503 answers of the plugin.
 * Call it after registering fastify-entra-id (it reads the tenant, client ID and authority host the plugin
 * resolved) and register `@fastify/swagger` with the result.
 *
 * - Guards are read from the route's own `onRequest`, `preParsing`, `preValidation` and `preHandler` options
 *   (a function or an array), with `describeGuard`. A hook added with `addHook` to an encapsulated context is
 *   not visible to @fastify/swagger's `transform`: give such routes `schema.security` yourself.
 * - A route that sets `schema.security` keeps it; the sentence and answers are still added.
 * - A response the route declares (or a `4XX`/`5XX` range) is kept as it is.
 * - Routes without a guard are left alone: no security.
 * - Your own `transform` and `transformObject`, when given, run first; a route's `config.swaggerTransform`
 *   replaces every transform (@fastify/swagger's rule), this one included.
 *
 * @example
 * `swagger` is @fastify/swagger's default export, `withEntraIdSecurity` this subpath's (see the README):
 * ```ts
 * await app.register(fastifyEntraId, { tenantId, clientId })
 * await app.register(swagger, withEntraIdSecurity(app, {
 *   openapi: { openapi: '3.1.0', info: { title: 'Todo API', version: '1.0.0' } }
 * }, { oauth2: { scopes: { 'Todo.Read': 'Read your todos' } } }))
 * ```
 * @throws {@link EntraUsageError} `ENTRA_PLUGIN_MISSING` when fastify-entra-id is not registered on `fastify`.
 * @throws {@link EntraConfigError} for a bad option, a scheme name already taken, or options that are not for
 *   an OpenAPI 3 document (`mode: 'static'`, or `swagger` without `openapi`).
 */
export function withEntraIdSecurity(fastify: FastifyInstance, swaggerOptions: FastifyDynamicSwaggerOptions = {},
  options: EntraIdOpenApiOptions = {}): FastifyDynamicSwaggerOptions {
  const entraId = (fastify as Partial<FastifyInstance>).entraId
  if (entraId === undefined) {
    throw new EntraUsageError('ENTRA_PLUGIN_MISSING', 'withEntraIdSecurity needs fastify-entra-id registered first: it reads the tenant and client ID the plugin resolved')
  }
  if (swaggerOptions === null || typeof swaggerOptions !== 'object' || (swaggerOptions as { mode?: unknown }).mode === 'static' ||
    (swaggerOptions.swagger !== undefined && swaggerOptions.openapi === undefined)) {
    throw new EntraConfigError('swaggerOptions', 'must be @fastify/swagger\'s dynamic options for an OpenAPI 3 document (with `openapi`, not `swagger`)')
  }
  if (options === null || typeof options !== 'object') throw new EntraConfigError('options', 'must be an object')
  const resolved = entraId.verifier.options
  const scopePrefix = options.scopePrefix ?? `api://${resolved.clientId}/`
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
  const authority = `${resolved.authorityHost}/${resolved.tenantId}/oauth2/v2.0`
  const errorSchema = options.errorSchema ?? FASTIFY_ERROR
  if (errorSchema === null || typeof errorSchema !== 'object') throw new EntraConfigError('errorSchema', 'must be a JSON schema (an object)')

  const openapi = swaggerOptions.openapi ?? {}
  const existing = openapi.components?.securitySchemes ?? {}
  for (const [name, option] of [[oauth2Name, 'oauth2.name'], [bearerName, 'bearer.name']] as const) {
    if (name !== null && Object.hasOwn(existing, name)) {
      throw new EntraConfigError(option, `names the security scheme "${name}", which swaggerOptions.openapi.components.securitySchemes already has`)
    }
  }
  const securitySchemes: Record<string, unknown> = {
    ...existing,
    ...(oauth2 === null || oauth2Name === null
      ? {}
      : {
          [oauth2Name]: {
            type: 'oauth2',
            description: text(oauth2.description, 'oauth2.description', 'Users signing in with Microsoft Entra ID (authorization code with PKCE).'),
            flows: {
              authorizationCode: {
                authorizationUrl: url(oauth2.authorizationUrl, 'oauth2.authorizationUrl', `${authority}/authorize`),
                tokenUrl: url(oauth2.tokenUrl, 'oauth2.tokenUrl', `${authority}/token`),
                // Filled in by transformObject, once every route's scopes are known.
                scopes: {}
              }
            }
          }
        }),
    [bearerName]: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: text(bearer.description, 'bearer.description', 'An Entra ID access token for this API, of a user or of an application (client credentials).')
    }
  }

  const userTransform = swaggerOptions.transform
  const transform: SwaggerTransform = (input) => {
    const result = userTransform === undefined ? { schema: input.schema, url: input.url } : userTransform(input)
    const descriptions = guardsOf(input.route)
    if (descriptions.length === 0) return result
    const version = 'openapiObject' in input ? (input.openapiObject.openapi ?? '3.0.3') : '3.0.3'
    const access = routeAccess(descriptions)
    const naming = { oauth2: oauth2Name, bearer: bearerName, scopePrefix, rolesInRequirements: !version.startsWith('3.0') }
    return { url: result.url, schema: documented(result.schema, access, securityOf(access, naming), errorSchema) }
  }

  const userTransformObject = swaggerOptions.transformObject
  const transformObject: SwaggerTransformObject = (input) => {
    const object = userTransformObject === undefined ? ('openapiObject' in input ? input.openapiObject : input.swaggerObject) : userTransformObject(input)
    if (oauth2Name === null) return object
    return withFlowScopes(object as Document, oauth2Name, scopePrefix, described)
  }

  return {
    ...swaggerOptions,
    openapi: { ...openapi, components: { ...openapi.components, securitySchemes } } as NonNullable<FastifyDynamicSwaggerOptions['openapi']>,
    transform,
    transformObject
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

function guardsOf(route: RouteOptions): GuardDescription[] {
  const found: GuardDescription[] = []
  for (const name of REQUEST_HOOKS) {
    const hooks: unknown = route[name]
    for (const hook of Array.isArray(hooks) ? hooks as unknown[] : [hooks]) {
      const description = describeGuard(hook)
      if (description !== undefined) found.push(description)
    }
  }
  return found
}

/** A copy of the route's schema, documented: the route's own schema object is Fastify's and stays untouched. */
function documented(schema: FastifySchema | undefined, access: RouteAccess, security: SecurityRequirement[],
  errorSchema: object): FastifySchema {
  const own = (schema ?? {}) as FastifySchema & { security?: unknown, description?: string }
  const sentence = `**Access:** ${accessSentence(access)}`
  // @fastify/swagger documents a route without responses as answering 200; adding answers must not lose that.
  const responses: Record<string, unknown> = own.response === undefined ? { 200: { 'x-response-description': 'Default Response' } } : { ...(own.response as Record<string, unknown>) }
  const declared = new Set(Object.keys(responses).map((key) => key.toUpperCase()))
  const add = (status: string, description: string, headers: Record<string, unknown>): void => {
    if (declared.has(status) || declared.has(`${status[0] ?? ''}XX`)) return
    // x-response-description: @fastify/swagger's key for a response's description, which it keeps out of the body schema.
    responses[status] = { ...errorSchema, 'x-response-description': description, headers }
  }
  // Only an authentication-context condition can answer with a claims challenge (requireAuthContext).
  const stepUp = access.conditions.some((condition) => condition.startsWith('authentication context '))
  const challenge = (what: string) => ({ 'www-authenticate': { type: 'string', description: `The Bearer challenge (RFC 6750 §3): ${what}` } })
  add('400', 'The request is malformed; for its credentials: more than one access token, or an `Authorization` header that is not `Bearer <token>`.',
    challenge('`error="invalid_request"`.'))
  add('401', access.optional
    ? 'A token was sent and is not valid (expired, malformed, or not for this API).'
    : 'No valid access token: none, or one that is expired, malformed, or not for this API.' +
      (stepUp ? ' Or a claims challenge: get a new token with the claims it names.' : ''),
  challenge('`error="invalid_token"` and `error_description` say why; no `error` when no token was sent.' +
    (stepUp ? ' `error="insufficient_claims"` with `claims` for a claims challenge.' : '')))
  if (canForbid(access)) {
    add('403', 'The token is valid but lacks what this operation requires (see **Access**).',
      challenge('`error="insufficient_scope"`; `error_description` says what is required, and `scope` lists the scopes or app roles that would do, when scopes or roles are what is missing.'))
  }
  add('503', 'The tenant\'s signing keys are not loaded (the identity provider has not answered yet); retry later.',
    { 'retry-after': { type: 'integer', description: 'Seconds until the keys are fetched again.' } })
  return {
    ...own,
    description: own.description === undefined || own.description === '' ? sentence : `${own.description}\n\n${sentence}`,
    response: responses,
    ...(own.security === undefined ? { security } : {})
  }
}

/** The OAuth2 flow listing the described scopes, then every other scope an operation requires. */
function withFlowScopes(document: Document, scheme: string, scopePrefix: string, described: Readonly<Record<string, string>>): Document {
  const scopes: Record<string, string> = {}
  for (const [name, description] of Object.entries(described)) scopes[scopePrefix + name] = description
  const found = new Set<string>()
  for (const item of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(item ?? {})) {
      const security = (operation as { security?: unknown } | null)?.security
      if (!Array.isArray(security)) continue
      for (const requirement of security as SecurityRequirement[]) for (const scope of requirement[scheme] ?? []) found.add(scope)
    }
  }
  for (const scope of [...found].sort()) {
    scopes[scope] ??= scope.startsWith(scopePrefix) ? `Delegated scope ${scope.slice(scopePrefix.length)}` : scope
  }
  const schemes = document.components?.securitySchemes ?? {}
  const oauth2 = schemes[scheme] as { flows: { authorizationCode: object } } | undefined
  if (oauth2 === undefined) return document
  return {
    ...document,
    components: {
      ...document.components,
      securitySchemes: {
        ...schemes,
        [scheme]: { ...oauth2, flows: { ...oauth2.flows, authorizationCode: { ...oauth2.flows.authorizationCode, scopes } } }
      }
    }
  } as Document
}

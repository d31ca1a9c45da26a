// withEntraIdSecurity: @fastify/swagger options with the Entra ID security schemes, and the transforms that give
// each guarded route its security, sentence and answers.

import type { FastifyInstance, RouteOptions } from 'fastify'
import type { FastifyDynamicSwaggerOptions, SwaggerTransform, SwaggerTransformObject } from '@fastify/swagger'
import { describeGuard } from '../core/authorization/guard-description.js'
import type { GuardDescription } from '../core/authorization/guard-description.js'
import { EntraUsageError } from '../core/errors/usage-error.js'
import { EntraConfigError } from '../util/config-error.js'
import { withFlowScopes } from './flow-scopes.js'
import type { Document } from './flow-scopes.js'
import { resolveOpenApiOptions } from './options.js'
import type { EntraIdOpenApiOptions } from './options.js'
import { routeAccess, securityOf } from './route-access.js'
import { documented } from './route-schema.js'

/** The route hooks that can hold a guard: those that run before the handler. */
const REQUEST_HOOKS = ['onRequest', 'preParsing', 'preValidation', 'preHandler'] as const

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
 * `swagger` is @fastify/swagger's default export, `withEntraIdSecurity` this subpath's (see https://github.com/fastify-entra-id/fastify-entra-id/blob/main/docs/how-to/openapi.md):
 * ```ts
 * await app.register(fastifyEntraId, { tenantId, clientId })
 * await app.register(swagger, withEntraIdSecurity(app, {
 *   openapi: { openapi: '3.1.0', info: { title: 'Todo API', version: '1.0.0' } }
 * }, { oauth2: { scopes: { 'Todo.Read': 'Read your todos' } } }))
 * ```
 * @throws {@link core!EntraUsageError} `ENTRA_PLUGIN_MISSING` when fastify-entra-id is not registered on `fastify`.
 * @throws {@link core!EntraConfigError} for a bad option, a scheme name already taken, or options that are not for
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
  const openapi = swaggerOptions.openapi ?? {}
  const existing = openapi.components?.securitySchemes ?? {}
  const { scopePrefix, oauth2, bearer, errorSchema } = resolveOpenApiOptions(options, entraId.verifier.options, existing)
  const oauth2Name = oauth2 === null ? null : oauth2.name

  const securitySchemes: Record<string, unknown> = {
    ...existing,
    ...(oauth2 === null
      ? {}
      : {
          [oauth2.name]: {
            type: 'oauth2',
            description: oauth2.description,
            flows: {
              authorizationCode: {
                authorizationUrl: oauth2.authorizationUrl,
                tokenUrl: oauth2.tokenUrl,
                // Filled in by transformObject, once every route's scopes are known.
                scopes: {}
              }
            }
          }
        }),
    [bearer.name]: {
      type: 'http',
      scheme: 'bearer',
      bearerFormat: 'JWT',
      description: bearer.description
    }
  }

  const userTransform = swaggerOptions.transform
  const transform: SwaggerTransform = (input) => {
    const result = userTransform === undefined ? { schema: input.schema, url: input.url } : userTransform(input)
    const descriptions = guardsOf(input.route)
    if (descriptions.length === 0) return result
    const version = 'openapiObject' in input ? (input.openapiObject.openapi ?? '3.0.3') : '3.0.3'
    const access = routeAccess(descriptions)
    const naming = { oauth2: oauth2Name, bearer: bearer.name, scopePrefix, rolesInRequirements: !version.startsWith('3.0') }
    return { url: result.url, schema: documented(result.schema, access, securityOf(access, naming), errorSchema) }
  }

  const userTransformObject = swaggerOptions.transformObject
  const transformObject: SwaggerTransformObject = (input) => {
    const object = userTransformObject === undefined ? ('openapiObject' in input ? input.openapiObject : input.swaggerObject) : userTransformObject(input)
    if (oauth2 === null) return object
    return withFlowScopes(object as Document, oauth2.name, scopePrefix, oauth2.scopes)
  }

  return {
    ...swaggerOptions,
    openapi: { ...openapi, components: { ...openapi.components, securitySchemes } } as NonNullable<FastifyDynamicSwaggerOptions['openapi']>,
    transform,
    transformObject
  }
}

/** The descriptions of the guards among a route's own request hooks. */
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

// The OAuth2 flow's scopes, listed once every route is documented: the described ones, then every other one an
// operation requires.

import type { SwaggerTransformObject } from '@fastify/swagger'
import type { SecurityRequirement } from './route-access.js'

/** The OpenAPI document @fastify/swagger builds, as its `transformObject` receives it. */
export type Document = Parameters<SwaggerTransformObject>[0] extends infer D ? D extends { openapiObject: infer O } ? O : never : never

/** The OAuth2 flow listing the described scopes, then every other scope an operation requires. */
export function withFlowScopes(document: Document, scheme: string, scopePrefix: string, described: Readonly<Record<string, string>>): Document {
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

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
export { withEntraIdSecurity } from './with-security.js'
export type { EntraIdOpenApiOptions, OpenApiBearerOptions, OpenApiOAuth2Options } from './options.js'

// What each guard requires, as the OpenAPI document describes it (also for documentation of your own).
export { describeGuard } from '../core/authorization/guard-description.js'
export type { AccessPath, GuardDescription } from '../core/authorization/guard-description.js'

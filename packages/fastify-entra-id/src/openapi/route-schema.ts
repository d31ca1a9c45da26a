// What a guarded route's operation says in the document: who passes (a sentence) and the 400/401/403/503 answers
// the plugin may give, added to a copy of its schema.

import type { FastifySchema } from 'fastify'
import { accessSentence, canForbid } from './route-access.js'
import type { RouteAccess, SecurityRequirement } from './route-access.js'

/** A copy of the route's schema, documented: the route's own schema object is Fastify's and stays untouched. */
export function documented(schema: FastifySchema | undefined, access: RouteAccess, security: SecurityRequirement[],
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

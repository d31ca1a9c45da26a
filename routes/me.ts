import type { FastifyInstance } from 'fastify'
import { identityOf } from 'fastify-entra-id'
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox'
import { MeSchema, ProfileSchema } from '../src/schemas/me.js'
import { ErrorSchema } from '../src/schemas/errors.js'
import { HttpError } from '../src/http/http-errors.js'

// The delegated Graph permission the API's registration needs (with consent) for /me.
const USER_READ = 'https://graph.microsoft.com/User.Read'

/**
 * `GET /api/me`: who the caller is, as the verified token says, and what kind of caller (a user, an application, or
 * an agent of Microsoft Entra Agent ID with its blueprint). Absent claims are `null`.
 */
export default function me(fastify: FastifyInstance, _options: unknown, done: (error?: Error) => void): void {
  const app = fastify.withTypeProvider<TypeBoxTypeProvider>()
  app.get('', {
    onRequest: app.access.anyToken,
    schema: {
      tags: ['identity'],
      summary: 'Who am I',
      response: { 200: MeSchema }
    }
  }, (request) => {
    const identity = identityOf(request)
    return {
      oid: identity.objectId,
      tid: identity.tenantId,
      sub: identity.subject,
      name: identity.name,
      username: identity.username,
      appId: identity.clientAppId,
      isAppOnly: identity.isAppOnly,
      callerType: identity.callerType,
      agent: identity.agent === null ? null : { appId: identity.agent.appId, blueprintAppId: identity.agent.blueprintAppId },
      scopes: [...identity.scopes].sort(),
      roles: [...identity.roles].sort(),
      tokenVersion: identity.tokenVersion,
      accountType: identity.accountType,
      expiresAt: identity.expiresAt.toISOString()
    }
  })

  app.get('/profile', {
    onRequest: app.access.anyToken,
    schema: {
      tags: ['identity'],
      summary: 'My Microsoft Graph profile',
      description: 'The caller\'s Graph profile (/me), fetched on their behalf (OAuth 2.0 on-behalf-of). Users only: ' +
        'an application token is refused (403 ENTRA_USER_REQUIRED). 501 DOWNSTREAM_NOT_CONFIGURED when the API has no ' +
        'credential (AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE).',
      response: { 200: ProfileSchema, 501: ErrorSchema, 502: ErrorSchema }
    }
  }, async (request) => {
    if (fastify.downstreamCredential === null) {
      throw new HttpError(501, 'DOWNSTREAM_NOT_CONFIGURED',
        'This API has no credential for calls on your behalf: set AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE')
    }
    const graph = fastify.config.GRAPH_BASE_URL.replace(/\/+$/, '')
    const response = await fastify.entraIdDownstream.fetch(request, `${graph}/v1.0/me?$select=displayName,mail,jobTitle`, { scopes: [USER_READ] })
    if (!response.ok) {
      await response.body?.cancel()
      request.log.warn({ graphStatus: response.status }, 'Microsoft Graph refused /me')
      throw new HttpError(502, 'GRAPH_ERROR', `Microsoft Graph answered ${response.status}`)
    }
    const profile = await response.json() as { displayName?: string | null, mail?: string | null, jobTitle?: string | null }
    return { displayName: profile.displayName ?? null, mail: profile.mail ?? null, jobTitle: profile.jobTitle ?? null }
  })
  done()
}

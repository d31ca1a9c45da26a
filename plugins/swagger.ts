import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { SCHEMES } from '../lib/access.js'

async function openapi(app: FastifyInstance): Promise<void> {
  const s = app.authSettings
  const development = s.devIssuer !== null
  const authority = `${s.authorityHost}/${s.tenantId}/oauth2/v2.0`
  const scopes = {
    [`${s.apiUri}/${s.scopes.read}`]: 'Read your todos',
    [`${s.apiUri}/${s.scopes.write}`]: 'Create, change and delete your todos'
  }
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Todo API',
        version: '1.0.0',
        description: 'A todo resource server protected by Microsoft Entra ID access tokens (fastify-entra-id).' +
          (development ? '\n\n**Development mode**: paste a token printed at start-up (or by `npm run token`) under Authorize → bearerToken.' : '')
      },
      tags: [
        { name: 'todos', description: 'The caller\'s todos' },
        { name: 'identity', description: 'Who the caller is' },
        { name: 'health', description: 'Probes' }
      ],
      components: {
        securitySchemes: {
          // Entra's sign-in is only offered with Entra ID: the development issuer has no authorization endpoint.
          ...(development
            ? {}
            : {
                [SCHEMES.user]: {
                  type: 'oauth2',
                  description: 'Users signing in with Microsoft Entra ID (authorization code with PKCE).',
                  flows: { authorizationCode: { authorizationUrl: `${authority}/authorize`, tokenUrl: `${authority}/token`, scopes } }
                },
                [SCHEMES.app]: {
                  type: 'oauth2',
                  description: `Applications with app roles ${s.roles.readAll} or ${s.roles.writeAll} (client credentials).`,
                  flows: { clientCredentials: { tokenUrl: `${authority}/token`, scopes: { [`${s.apiUri}/.default`]: 'The app roles granted to the application' } } }
                }
              }),
          [SCHEMES.bearer]: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An Entra ID access token for this API.' }
        }
      }
    }
  })
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    uiConfig: { persistAuthorization: false, deepLinking: true },
    initOAuth: {
      // The browser client: a single-page application registration whose redirect URI is
      // https://<host>/docs/oauth2-redirect.html. Default: the API's own registration.
      clientId: app.config.OPENAPI_CLIENT_ID ?? s.clientId,
      usePkceWithAuthorizationCodeGrant: true,
      scopes: Object.keys(scopes)
    }
  })
}

/** The OpenAPI document (`/docs/json`) with the tenant's OAuth2 security schemes, and Swagger UI at `/docs`. */
export default fp(openapi, { name: 'openapi', fastify: '5.x', dependencies: ['auth'] })

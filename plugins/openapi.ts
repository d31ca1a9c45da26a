import fp from 'fastify-plugin'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import type { FastifyInstance } from 'fastify'
import { withEntraIdSecurity } from 'fastify-entra-id/openapi'
import { ErrorSchema } from '../src/schemas/errors.js'

/** The name of the sign-in (OAuth2 authorization code with PKCE) scheme, as the Authorize dialog shows it. */
const SIGN_IN_SCHEME = 'entraUser'

/** Where Swagger UI is served. */
const DOCS = '/docs'

/**
 * The page Entra sends the browser back to: `<docs>/oauth2-redirect.html`, the redirect URI registered on the
 * single-page application. It runs Swagger UI's own redirect script (served by @fastify/swagger-ui under
 * `static/`), which hands the authorization code to the Swagger UI window that opened the sign-in.
 */
const REDIRECT_PAGE = '<!doctype html>\n<html lang="en-US">\n<head><meta charset="utf-8"><title>Swagger UI: OAuth2 redirect</title></head>\n' +
  '<body>\n<script src="static/oauth2-redirect.js"></script>\n</body>\n</html>\n'

/**
 * Runs in the browser before Swagger UI starts. @fastify/swagger-ui v6 sets `oauth2RedirectUrl` to
 * `<page>/static/oauth2-redirect.html` after `uiConfig` (so that option cannot change it), and Entra compares the
 * `redirect_uri` with the registered one character for character (AADSTS50011 otherwise). Wrapping the global
 * `SwaggerUIBundle` that its initializer calls on `load` replaces the value with `<docs>/oauth2-redirect.html`,
 * resolved from the browser's own address: behind App Service or an ingress terminating TLS, only the browser
 * knows the public scheme, host and path.
 */
const REDIRECT_URL_SCRIPT = `(function () {
  'use strict';
  var bundle = window.SwaggerUIBundle;
  window.SwaggerUIBundle = new Proxy(bundle, {
    apply: function (target, self, args) {
      var page = window.location.href.split('#', 1)[0].split('?', 1)[0];
      var docs = page.charAt(page.length - 1) === '/' ? page : page + '/';
      var config = Object.assign({}, args[0], { oauth2RedirectUrl: new URL('oauth2-redirect.html', docs).href });
      return Reflect.apply(target, self, [config]);
    }
  });
})();
`

async function openapi(app: FastifyInstance): Promise<void> {
  const s = app.authSettings
  const development = s.devIssuer !== null
  // The security schemes and each route's `security`, access sentence and 401/403/503 answers come from the
  // guards, by fastify-entra-id/openapi: the sample states its policy once, in the guards (src/auth/access.ts).
  const scopes = { [s.scopes.read]: 'Read your todos', [s.scopes.write]: 'Create, change and delete your todos' }
  await app.register(swagger, withEntraIdSecurity(app, {
    openapi: {
      openapi: '3.1.0',
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
      ]
    }
  }, {
    // Entra's sign-in is only offered with Entra ID: the development issuer has no authorization endpoint.
    // No client-credentials scheme: Entra's token endpoint takes cross-origin requests only from single-page
    // applications (AADSTS9002326), which are public clients and cannot use client credentials, and the flow would
    // ask for a client secret in a web page. Applications get their token elsewhere and paste it under bearerToken.
    // Nor with B2C, whose sign-in is per user flow and whose scopes live under an App ID URI of the tenant's
    // domain, not api://<clientId>: a B2C client gets its token and pastes it under bearerToken.
    oauth2: development || s.b2cPolicies !== null ? false : { name: SIGN_IN_SCHEME, scopes },
    bearer: {
      description: 'An Entra ID access token for this API, e.g. an application\'s token from the client-credentials flow ' +
        `(app roles ${s.roles.readAll} or ${s.roles.writeAll}).`
    },
    scopePrefix: `${s.apiUri}/`,
    errorSchema: ErrorSchema
  }))
  await app.register(swaggerUi, {
    routePrefix: DOCS,
    uiConfig: { persistAuthorization: false, deepLinking: true },
    theme: { js: [{ filename: 'oauth2-redirect-url.js', content: REDIRECT_URL_SCRIPT }] },
    initOAuth: {
      // The browser client: a single-page application registration whose redirect URI is
      // https://<host>/docs/oauth2-redirect.html. Default: the API's own registration.
      clientId: app.config.OPENAPI_CLIENT_ID ?? s.clientId,
      usePkceWithAuthorizationCodeGrant: true,
      scopes: Object.keys(scopes).map((scope) => `${s.apiUri}/${scope}`)
    }
  })
  app.get(`${DOCS}/oauth2-redirect.html`, { schema: { hide: true } }, (_request, reply) => {
    return reply.type('text/html; charset=utf-8').send(REDIRECT_PAGE)
  })
}

/**
 * The OpenAPI 3.1 document (`/docs/json`), whose security fastify-entra-id/openapi derives from the guards, and
 * Swagger UI at `/docs`, whose OAuth2 redirect page is `/docs/oauth2-redirect.html`.
 */
export default fp(openapi, { name: 'openapi', fastify: '5.x', dependencies: ['auth'] })

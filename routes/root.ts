import type { FastifyInstance } from 'fastify'

/**
 * `GET /` in development mode sends the browser to Swagger UI, the quickest way in for someone who just ran
 * `npm start`. With Entra ID the root stays unrouted (404): a deployed API advertises nothing at its root.
 */
export default function root(app: FastifyInstance, _options: unknown, done: (error?: Error) => void): void {
  if (app.authSettings.devIssuer !== null) {
    app.get('/', { schema: { hide: true }, logLevel: 'warn' }, (_request, reply) => reply.redirect('/docs', 302))
  }
  done()
}

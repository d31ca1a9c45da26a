import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { KeysUnavailableError } from '../core/errors/unavailable.js'
import { resourceDocument } from '../metadata/protected-resource.js'
import type { AuthorizationServerSource, ProtectedResource } from '../metadata/protected-resource.js'

/**
 * Serves each resource's metadata document (RFC 9728 §3): `GET {metadataPath}`, public, JSON, cacheable, without
 * waiting for signing keys; a tenant given as a domain answers 503 until discovery has loaded.
 */
export function publishProtectedResources(fastify: FastifyInstance, resources: readonly ProtectedResource[], source: AuthorizationServerSource): void {
  for (const resource of resources) {
    const path = `${fastify.prefix}${resource.metadataPath}`
    fastify.get(resource.metadataPath, { schema: { hide: true }, logLevel: 'warn' }, (request: FastifyRequest, reply: FastifyReply) => {
      // The router may also match `/api/` (ignoreTrailingSlash), `//api` or `/API`; the identifier a client
      // derives from such a URL is not this resource's, so it must discard the document (RFC 9728 §3.3): none is
      // served. Only the exact path is.
      if (pathOf(request.url) !== path) return reply.callNotFound()
      const document = resourceDocument(resource, source)
      if (document === undefined) throw new KeysUnavailableError(1)
      void reply.header('cache-control', 'public, max-age=3600').type('application/json; charset=utf-8')
      return document
    })
  }
}

function pathOf(url: string): string {
  const query = url.indexOf('?')
  return query === -1 ? url : url.slice(0, query)
}

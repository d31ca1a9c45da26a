import type { FastifyReply, FastifyRequest } from 'fastify'
import { identityOf } from 'fastify-entra-id'
import { InvalidTokenError } from 'fastify-entra-id/core'

/**
 * Tokens bound to the MCP server (authorization specification, "Token Handling": a server "MUST validate that
 * access tokens were issued specifically for them as the intended audience" and "MUST only accept tokens that are
 * valid for use with their own resources"). The plugin accepts every audience of this API; this hook, after it,
 * refuses at the MCP endpoint a token whose `aud` names another protected resource of the service (`{base}/api`):
 * a client asked Entra for the REST API, not for this server.
 *
 * Entra cannot bind more narrowly: a v2 token's `aud` is the API's client ID whichever of its Application ID URIs
 * the client named as `resource` (only a v1 token carries the URI), and `api://<client ID>` names the whole
 * registration. Those tokens are this API's and are accepted, as the plugin's audience rule does.
 *
 * @param otherResources The identifiers of the service's other protected resources.
 */
export function boundToResource(otherResources: readonly string[]): (request: FastifyRequest, reply: FastifyReply) => Promise<void> {
  const others = new Set(otherResources)
  // eslint-disable-next-line @typescript-eslint/require-await -- a hook in promise form, as Fastify runs it
  return async (request) => {
    const audience = identityOf(request).claims.aud
    if (!others.has(audience)) return
    // The audience is the client's own request, so naming it says nothing about the configuration.
    throw request.server.entraId.challengeFor(request, new InvalidTokenError('ENTRA_TOKEN_INVALID_AUDIENCE',
      `The access token is for ${audience}, not for this MCP server: request a token for the resource its metadata names`))
  }
}

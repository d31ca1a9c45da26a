import { accessSync, constants, readFileSync } from 'node:fs'
import type { Agent } from 'node:https'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { EntraConfigError } from 'fastify-entra-id'
import { certificateCredentialFromPem, fastifyEntraIdDownstream } from 'fastify-entra-id/downstream'
import type { DownstreamCredential } from 'fastify-entra-id/downstream'
import { ConfigError } from '../src/config/config-error.js'

/** Options of the downstream plugin: where msal-node reaches Entra, for tests. */
export interface DownstreamPluginOptions {
  /** The https origin of Entra's token endpoint. Default: the authority host (AZURE_AUTHORITY_HOST). */
  authorityHost?: string
  /** The agent for requests to Entra (tests: one trusting a loopback CA). Default: Node's. */
  agent?: Agent
}

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * Which variable holds the API's credential for calls on the caller's behalf, or `null` when none is set
     * (then `GET /api/me/profile` answers 501).
     */
    downstreamCredential: 'AZURE_CLIENT_SECRET' | 'AZURE_CLIENT_CERTIFICATE_PATH' | 'AZURE_FEDERATED_TOKEN_FILE' | null
  }
}

/**
 * Calls on the caller's behalf (OAuth 2.0 on-behalf-of, through fastify-entra-id/downstream), when the API has a
 * credential: `AZURE_CLIENT_SECRET`, `AZURE_CLIENT_CERTIFICATE_PATH` or `AZURE_FEDERATED_TOKEN_FILE`. The values
 * are handed to msal-node and never logged; start-up says only which variable is used.
 */
async function downstream(app: FastifyInstance, options: DownstreamPluginOptions): Promise<void> {
  const c = app.config
  const [variable, credential] = credentialOf(c)
  app.decorate('downstreamCredential', variable)
  if (variable === null || credential === null) {
    app.log.info('No AZURE_CLIENT_SECRET, AZURE_CLIENT_CERTIFICATE_PATH or AZURE_FEDERATED_TOKEN_FILE: GET /api/me/profile answers 501 (the API has no credential for calls on the caller\'s behalf)')
    return
  }
  try {
    await app.register(fastifyEntraIdDownstream, {
      credential,
      ...(options.authorityHost === undefined ? {} : { authorityHost: options.authorityHost }),
      ...(options.agent === undefined ? {} : { agent: options.agent })
    })
  } catch (error) {
    if (error instanceof EntraConfigError) throw new ConfigError([`${error.option === 'authorityHost' ? 'AZURE_AUTHORITY_HOST' : variable}: ${error.message}`])
    throw error
  }
  app.log.info({ credential: variable }, `calls to Microsoft Graph on the caller's behalf authenticate the API with ${variable}`)
}

function credentialOf(c: FastifyInstance['config']): [FastifyInstance['downstreamCredential'], DownstreamCredential | null] {
  if (c.AZURE_CLIENT_SECRET !== undefined) return ['AZURE_CLIENT_SECRET', { clientSecret: c.AZURE_CLIENT_SECRET }]
  if (c.AZURE_FEDERATED_TOKEN_FILE !== undefined) {
    // Read again on every request to Entra (workload identity rotates it); checked readable once here.
    try {
      accessSync(c.AZURE_FEDERATED_TOKEN_FILE, constants.R_OK)
    } catch (error) {
      throw new ConfigError([`AZURE_FEDERATED_TOKEN_FILE must be a readable file (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`])
    }
    return ['AZURE_FEDERATED_TOKEN_FILE', { clientAssertionFile: c.AZURE_FEDERATED_TOKEN_FILE }]
  }
  if (c.AZURE_CLIENT_CERTIFICATE_PATH !== undefined) {
    let pem: string
    try {
      pem = readFileSync(c.AZURE_CLIENT_CERTIFICATE_PATH, 'utf8')
    } catch (error) {
      throw new ConfigError([`AZURE_CLIENT_CERTIFICATE_PATH must be a readable PEM file (${(error as NodeJS.ErrnoException).code ?? 'unreadable'})`])
    }
    try {
      return ['AZURE_CLIENT_CERTIFICATE_PATH', certificateCredentialFromPem(pem)]
    } catch {
      throw new ConfigError(['AZURE_CLIENT_CERTIFICATE_PATH must be a PEM file holding the private key and the certificate'])
    }
  }
  return [null, null]
}

export default fp(downstream, { name: 'downstream', dependencies: ['config', 'auth'] })

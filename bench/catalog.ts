// The servers under test, each a file in bench/servers/, and how their figures relate to one another.

/** What a server is in the comparison. */
export type ServerRole =
  /** No authentication: the ceiling its framework's authenticated servers are measured against. */
  | 'ceiling'
  /** fastify-entra-id, with its token cache on (the default) or off: never a peer, never the best peer. */
  | 'subject'
  /** Another library doing the same job. */
  | 'peer'
  /**
   * Not a verifier: bare Fastify doing only the floor's work per request (payload decode and the RS256 check),
   * to show what that work costs inside a server.
   */
  | 'reference'

/** One server under test. */
export interface ServerSpec {
  /** Also the file name in bench/servers/ (without `.ts`). */
  readonly id: string
  readonly label: string
  readonly role: ServerRole
  /** The server without authentication on the same framework: "auth CPU" is CPU per request over it. */
  readonly bare: string
}

/** Every server, in table order. */
export const SERVERS: readonly ServerSpec[] = [
  { id: 'fastify-bare', label: 'Fastify, no auth (the ceiling)', role: 'ceiling', bare: 'fastify-bare' },
  { id: 'fastify-entra-id', label: 'Fastify + fastify-entra-id', role: 'subject', bare: 'fastify-bare' },
  { id: 'fastify-entra-id-nocache', label: 'Fastify + fastify-entra-id, token cache off', role: 'subject', bare: 'fastify-bare' },
  { id: 'fastify-floor', label: 'Fastify + the floor\'s work only (reference: payload decode + RS256 check, no rules)', role: 'reference', bare: 'fastify-bare' },
  { id: 'fastify-jose', label: 'Fastify + jose jwtVerify, one shared createRemoteJWKSet', role: 'peer', bare: 'fastify-bare' },
  { id: 'fastify-jwt-jwks', label: 'Fastify + fastify-jwt-jwks', role: 'peer', bare: 'fastify-bare' },
  { id: 'fastify-jwt-get-jwks', label: 'Fastify + @fastify/jwt + get-jwks, token cache on', role: 'peer', bare: 'fastify-bare' },
  { id: 'express-bare', label: 'Express, no auth (the Express ceiling)', role: 'ceiling', bare: 'express-bare' },
  { id: 'express-oauth2-jwt-bearer', label: 'Express + express-oauth2-jwt-bearer (Auth0)', role: 'peer', bare: 'express-bare' }
]

/** The reference server: the floor's work inside a server, the bound a new token is held to. */
export const FLOOR_SERVER_ID = 'fastify-floor'

/** The server every req/s ratio is taken against. */
export const CEILING_ID = 'fastify-bare'
/** The server the peers are compared with: fastify-entra-id as shipped, its token cache on. */
export const SUBJECT_ID = 'fastify-entra-id'
/** The same server with `tokenCache: false`: what every new token costs, held to the floor target. */
export const SUBJECT_NOCACHE_ID = 'fastify-entra-id-nocache'

import fastifyEnv from '@fastify/env'
import fp from 'fastify-plugin'
import { Type } from 'typebox'
import type { Static } from 'typebox'
import type { FastifyInstance } from 'fastify'
import { ConfigError } from '../src/config/config-error.js'

const GUID = '[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}'
// Entra scope and app-role values: no spaces and no quotes.
const PERMISSION = '^[\\x21\\x23-\\x5b\\x5d-\\x7e]+$'
// A web origin: http or https, a host and an optional port, no path (a final / is tolerated).
const ORIGIN = 'https?://[^/?#\\s,@]+/?'

/**
 * Every environment variable the service reads: the contract of the container. One schema, validated once at
 * start-up by `@fastify/env` (types coerced, defaults applied, unknown variables ignored).
 */
export const configSchema = Type.Object({
  NODE_ENV: Type.String({ default: 'development' }),
  AZURE_TENANT_ID: Type.Optional(Type.String({ pattern: `^(?:${GUID}|organizations|common|(?:[A-Za-z0-9-]+\\.)+[A-Za-z]{2,63})$` })),
  AZURE_CLIENT_ID: Type.Optional(Type.String({ pattern: `^${GUID}$` })),
  AZURE_AUTHORITY_HOST: Type.Optional(Type.String({ pattern: '^https?://[^/?#\\s]+/?$' })),
  // Azure AD B2C: the user flows (policies) whose tokens are accepted; AZURE_TENANT_ID is then the B2C tenant
  // and AZURE_AUTHORITY_HOST its b2clogin.com host (or custom domain).
  AZURE_B2C_POLICIES: Type.Optional(Type.String({ pattern: '^\\s*[A-Za-z0-9_.-]+\\s*(?:,\\s*[A-Za-z0-9_.-]+\\s*)*$' })),
  AUTH_AUDIENCES: Type.Optional(Type.String({ pattern: '^[^\\s,]+(?:\\s*,\\s*[^\\s,]+)*$' })),
  AUTH_ALLOWED_TENANTS: Type.Optional(Type.String({ pattern: `^(?:\\*|${GUID}(?:\\s*,\\s*${GUID})*)$` })),
  AUTH_SCOPE_READ: Type.String({ default: 'Todo.Read', pattern: PERMISSION }),
  AUTH_SCOPE_WRITE: Type.String({ default: 'Todo.Write', pattern: PERMISSION }),
  AUTH_ROLE_READ_ALL: Type.String({ default: 'Todo.Read.All', pattern: PERMISSION }),
  AUTH_ROLE_WRITE_ALL: Type.String({ default: 'Todo.Write.All', pattern: PERMISSION }),
  // Accepted token versions: "1,2" (default), "2" for an API registered with requestedAccessTokenVersion 2.
  AUTH_TOKEN_VERSIONS: Type.Optional(Type.String({ pattern: '^\\s*[12]\\s*(?:,\\s*[12]\\s*)?$' })),
  // Closed networks: the signing keys (a JWKS document or PEM public keys) in a file, re-read when it changes; with
  // it, no discovery and no key-set fetch. AUTH_ISSUER (and AUTH_V1_ISSUER for v1.0 tokens) say the issuers.
  AUTH_SIGNING_KEYS_FILE: Type.Optional(Type.String({ minLength: 1 })),
  AUTH_ISSUER: Type.Optional(Type.String({ pattern: '^https?://\\S+$' })),
  AUTH_V1_ISSUER: Type.Optional(Type.String({ pattern: '^https?://\\S+$' })),
  // Whether guest accounts (B2B users, invited personal accounts) may call the API.
  AUTH_ALLOW_GUESTS: Type.Boolean({ default: true }),
  // How long an answer of the deny-list (revoked_callers, `npm run revoke`) is kept: the bound within which a revocation takes effect.
  AUTH_REVOCATION_MAX_AGE_MS: Type.Integer({ default: 30_000, minimum: 0, maximum: 3_600_000 }),
  // Group object IDs: when set, users must be in one of them (applications are not concerned).
  AUTH_REQUIRED_GROUPS: Type.Optional(Type.String({ pattern: `^${GUID}(?:\\s*,\\s*${GUID})*$` })),
  // An Entra authentication-context ID, c1 to c99 (Conditional Access step-up for deleting).
  AUTH_DELETE_AUTH_CONTEXT: Type.Optional(Type.String({ pattern: '^c(?:[1-9]|[1-9][0-9])$' })),
  OPENAPI_CLIENT_ID: Type.Optional(Type.String({ pattern: `^${GUID}$` })),
  // The API's own credential, for calls on the caller's behalf (GET /api/me/profile): at most one of the three.
  AZURE_CLIENT_SECRET: Type.Optional(Type.String({ minLength: 1 })),
  AZURE_CLIENT_CERTIFICATE_PATH: Type.Optional(Type.String({ minLength: 1 })),
  AZURE_FEDERATED_TOKEN_FILE: Type.Optional(Type.String({ minLength: 1 })),
  // Microsoft Graph's origin (another cloud's, or a stand-in for tests).
  GRAPH_BASE_URL: Type.String({ default: 'https://graph.microsoft.com', pattern: '^https?://[^/?#\\s]+/?$' }),
  // The service's public origin, e.g. https://todo.contoso.com: the base of its RFC 9728 resource identifiers.
  PUBLIC_BASE_URL: Type.Optional(Type.String({ pattern: '^https?://[^/?#\\s]+/?$' })),
  // Web origins whose pages may call /mcp (the MCP transport's DNS rebinding defence); requests without Origin pass.
  MCP_ALLOWED_ORIGINS: Type.Optional(Type.String({ pattern: `^${ORIGIN}(?:\\s*,\\s*${ORIGIN})*$` })),
  PORT: Type.Integer({ default: 8080, minimum: 0, maximum: 65535 }),
  // Default: 127.0.0.1 in development mode (its tokens come from a local issuer), 0.0.0.0 otherwise (listenHost).
  HOST: Type.Optional(Type.String({ minLength: 1 })),
  DATA_DIR: Type.String({ default: './data', minLength: 1 }),
  DATABASE_URL: Type.Optional(Type.String({ pattern: '^postgres(?:ql)?://' })),
  LOG_LEVEL: Type.Union(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].map((l) => Type.Literal(l)), { default: 'info' }),
  DEV_ISSUER_PORT: Type.Integer({ default: 8081, minimum: 0, maximum: 65535 }),
  // Default: 5000 in production, 0 otherwise (shutdownDrain). At most 110 s: App Service waits at most 120 s.
  SHUTDOWN_DRAIN_MS: Type.Optional(Type.Integer({ minimum: 0, maximum: 110_000 }))
})

/** The validated configuration, as `fastify.config`. */
export type Config = Readonly<Static<typeof configSchema>>

/** What each variable must be, for start-up errors. */
const EXPECTED: Readonly<Record<keyof Config, string>> = {
  NODE_ENV: 'a string such as "production" or "development"',
  AZURE_TENANT_ID: 'the Entra tenant ID (a GUID), a verified domain, "organizations" or "common"',
  AZURE_CLIENT_ID: 'the API\'s application (client) ID, a GUID, not its App ID URI (api://...): an App ID URI other than api://<client ID> goes in AUTH_AUDIENCES',
  AZURE_AUTHORITY_HOST: 'an origin such as https://login.microsoftonline.com (no path)',
  AZURE_B2C_POLICIES: 'a comma-separated list of B2C user flows (policies), such as B2C_1_signupsignin',
  AUTH_AUDIENCES: 'a comma-separated list of accepted token audiences',
  AUTH_ALLOWED_TENANTS: 'a comma-separated list of tenant IDs (GUIDs), or * for every tenant',
  AUTH_SCOPE_READ: 'a scope name without spaces or quotes',
  AUTH_SCOPE_WRITE: 'a scope name without spaces or quotes',
  AUTH_ROLE_READ_ALL: 'an app role name without spaces or quotes',
  AUTH_ROLE_WRITE_ALL: 'an app role name without spaces or quotes',
  AUTH_TOKEN_VERSIONS: '1, 2 or 1,2: the accepted token versions',
  AUTH_SIGNING_KEYS_FILE: 'the path of a file holding the signing keys: a JWKS document or PEM public keys',
  AUTH_ISSUER: 'the issuer (iss) of v2.0 tokens, such as https://login.microsoftonline.com/<tenant ID>/v2.0',
  AUTH_V1_ISSUER: 'the issuer (iss) of v1.0 tokens, such as https://sts.windows.net/<tenant ID>/',
  AUTH_ALLOW_GUESTS: 'true or false',
  AUTH_REVOCATION_MAX_AGE_MS: 'an integer from 0 to 3600000 (milliseconds)',
  AUTH_REQUIRED_GROUPS: 'a comma-separated list of group object IDs (GUIDs)',
  AUTH_DELETE_AUTH_CONTEXT: 'an authentication context ID, c1 to c99',
  OPENAPI_CLIENT_ID: 'the application (client) ID of the Swagger UI client, a GUID',
  AZURE_CLIENT_SECRET: 'a client secret of the API\'s app registration',
  AZURE_CLIENT_CERTIFICATE_PATH: 'the path of a PEM file with the private key and certificate of the API\'s app registration',
  AZURE_FEDERATED_TOKEN_FILE: 'the path of a federated token file (workload identity)',
  GRAPH_BASE_URL: 'an origin such as https://graph.microsoft.com (no path)',
  PUBLIC_BASE_URL: 'the service\'s public origin, such as https://todo.contoso.com (no path)',
  MCP_ALLOWED_ORIGINS: 'a comma-separated list of origins such as https://app.contoso.com (scheme, host and port; no path)',
  PORT: 'an integer from 0 to 65535',
  HOST: 'a host name or address to listen on',
  DATA_DIR: 'a directory path',
  DATABASE_URL: 'a PostgreSQL connection URL, postgres://user:password@host:5432/database',
  LOG_LEVEL: 'one of fatal, error, warn, info, debug, trace, silent',
  DEV_ISSUER_PORT: 'an integer from 0 to 65535',
  SHUTDOWN_DRAIN_MS: 'an integer from 0 to 110000 (milliseconds)'
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The validated environment configuration. */
    config: Config
  }
}

/** Options of the config plugin. */
export interface ConfigPluginOptions {
  /** The variables to read. Default: `process.env`. */
  env?: Readonly<Record<string, string | undefined>>
}

async function config(app: FastifyInstance, options: ConfigPluginOptions): Promise<void> {
  try {
    await app.register(fastifyEnv, {
      // env-schema sets additionalProperties on the schema it is given: give it a copy.
      schema: structuredClone(configSchema),
      ...(options.env === undefined ? {} : { env: false, data: { ...options.env } }),
      confKey: 'config'
    })
  } catch (error) {
    // Every problem at once: the rules between variables too, read from the raw values, for the variables the
    // schema did not already refuse.
    const problems = schemaProblems(error)
    const refused = new Set(problems.map((p) => p.split(' ')[0]))
    const raw = { NODE_ENV: 'development', ...(options.env ?? process.env) } as unknown as Config
    throw new ConfigError([...problems, ...crossCheck(raw).filter((p) => !refused.has(p.split(' ')[0]))])
  }
  const problems = crossCheck(app.config)
  if (problems.length > 0) throw new ConfigError(problems)
}

/** Turns env-schema's Ajv errors into one line per variable. */
function schemaProblems(error: unknown): string[] {
  const errors = (error as { errors?: unknown }).errors
  if (!Array.isArray(errors)) return [error instanceof Error ? error.message : String(error)]
  const names = new Set<string>()
  for (const e of errors as { instancePath?: string, params?: { missingProperty?: string } }[]) {
    const name = e.params?.missingProperty ?? e.instancePath?.split('/')[1]
    if (name !== undefined && name !== '') names.add(name)
  }
  return [...names].map((name) => `${name} must be ${EXPECTED[name as keyof Config] ?? 'valid'}`)
}

/** Rules between variables, which a schema says less clearly. */
function crossCheck(c: Config): string[] {
  const problems: string[] = []
  const production = c.NODE_ENV === 'production'
  const credentials = (['AZURE_CLIENT_SECRET', 'AZURE_CLIENT_CERTIFICATE_PATH', 'AZURE_FEDERATED_TOKEN_FILE'] as const).filter((name) => c[name] !== undefined)
  if (credentials.length > 1) problems.push(`${credentials.join(' and ')} are each a credential of the API: set one of them`)
  if (c.AZURE_TENANT_ID === undefined && credentials.length > 0) {
    problems.push(`${credentials[0] ?? ''} needs AZURE_TENANT_ID: development mode cannot call Microsoft Graph on the caller's behalf (docs/how-to/downstream-apis.md)`)
  }
  if (c.AZURE_TENANT_ID === undefined) {
    if (production) {
      problems.push('AZURE_TENANT_ID is required when NODE_ENV=production (the development issuer never runs in production)')
      if (c.AZURE_CLIENT_ID === undefined) problems.push('AZURE_CLIENT_ID is required when NODE_ENV=production')
    } else if (c.AZURE_CLIENT_ID !== undefined) {
      problems.push('AZURE_TENANT_ID is required when AZURE_CLIENT_ID is set (unset both for development mode)')
    }
    if (c.AZURE_B2C_POLICIES !== undefined) {
      problems.push('AZURE_TENANT_ID is required when AZURE_B2C_POLICIES is set: the B2C tenant, such as contoso.onmicrosoft.com')
    }
    return problems
  }
  if (c.AZURE_CLIENT_ID === undefined) problems.push('AZURE_CLIENT_ID is required when AZURE_TENANT_ID is set')
  const multiTenant = ['organizations', 'common'].includes(c.AZURE_TENANT_ID.toLowerCase())
  if (multiTenant && c.AUTH_ALLOWED_TENANTS === undefined) {
    problems.push(`AUTH_ALLOWED_TENANTS is required when AZURE_TENANT_ID=${c.AZURE_TENANT_ID}: list the tenant IDs to accept, or * for every tenant`)
  }
  if (!multiTenant && c.AUTH_ALLOWED_TENANTS !== undefined) {
    problems.push('AUTH_ALLOWED_TENANTS is only for a multi-tenant API (AZURE_TENANT_ID=organizations or common)')
  }
  if ((c.AUTH_SIGNING_KEYS_FILE === undefined) !== (c.AUTH_ISSUER === undefined)) {
    problems.push('AUTH_SIGNING_KEYS_FILE and AUTH_ISSUER go together: the keys and the issuer of the tokens they sign (no discovery then)')
  }
  if (c.AZURE_B2C_POLICIES !== undefined) {
    if (multiTenant) problems.push('AZURE_TENANT_ID must be the B2C tenant (such as contoso.onmicrosoft.com) when AZURE_B2C_POLICIES is set')
    if (c.AZURE_AUTHORITY_HOST === undefined) {
      problems.push('AZURE_AUTHORITY_HOST is required when AZURE_B2C_POLICIES is set: https://<tenant>.b2clogin.com or the tenant\'s custom domain')
    }
  }
  return problems
}

/**
 * Where to listen: `HOST`, else loopback in development mode, whose tokens anyone can mint from the local
 * issuer's keys, and every interface otherwise (a container's port is only reachable that way).
 */
export function listenHost(c: Config): string {
  return c.HOST ?? (c.AZURE_TENANT_ID === undefined ? '127.0.0.1' : '0.0.0.0')
}

/**
 * After SIGTERM, how long the service keeps serving, not ready and closing each connection after its response,
 * so that load balancers take it out before it stops accepting, in milliseconds: `SHUTDOWN_DRAIN_MS`, else 5000 in
 * production and 0 elsewhere (development and tests: nothing routes to them).
 */
export function shutdownDrain(c: Config): number {
  return c.SHUTDOWN_DRAIN_MS ?? (c.NODE_ENV === 'production' ? DEFAULT_SHUTDOWN_DRAIN_MS : 0)
}

/** The production default of `SHUTDOWN_DRAIN_MS`, in milliseconds (the Kubernetes manifest's timing rests on it). */
export const DEFAULT_SHUTDOWN_DRAIN_MS = 5_000

/** Splits a comma-separated variable. */
export function list(value: string): string[] {
  return value.split(',').map((v) => v.trim()).filter((v) => v !== '')
}

/** Validates the environment and decorates `fastify.config`; throws a {@link ConfigError} naming every bad variable. */
export default fp(config, { name: 'config', fastify: '5.x' })

/**
 * Mints an access token from the development issuer, whose keys the service keeps under DATA_DIR. The token is
 * written alone on stdout, so it can be captured: TOKEN=$(npm run -s token -- --scope Todo.Read).
 *
 * Run `npm run token -- --help` for the options.
 */
import { createHash } from 'node:crypto'
import { parseArgs } from 'node:util'
import { startTestIssuer } from 'fastify-entra-id/testing'
import { readDevIssuerState, writeDevIssuerState } from '../lib/dev-issuer.js'

const HELP = `Usage: npm run token -- [options]

Mints an access token for the service running in development mode (no AZURE_TENANT_ID).

  --scope <name>     a delegated scope, e.g. Todo.Read (repeatable)
  --role <name>      an app role, e.g. Todo.Read.All (repeatable)
  --app              an application calling as itself (app-only token: no user, use --role)
  --user <name|oid>  the user (or application) object ID; a name maps to a stable ID. Default: the dev user
  --tenant <tid>     the tenant ID. Default: the development tenant (others need AUTH_ALLOWED_TENANTS)
  --lifetime <time>  seconds, or with a unit: 30m, 8h, 2d. Default 1h. Negative for an expired token
  --version <1|2>    token version. Default 2
  --data-dir <dir>   where the development keys are. Default: $DATA_DIR or ./data
  -h, --help         this help

Examples:
  npm run token -- --scope Todo.Read --scope Todo.Write
  npm run token -- --scope Todo.Read --user alice
  npm run token -- --app --role Todo.Read.All --role Todo.Write.All
`

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

function fail(message: string): never {
  process.stderr.write(`token: ${message}\n\n${HELP}`)
  process.exit(2)
}

/** A stable GUID for a name, so `--user alice` is the same user every time. */
function guidOf(name: string): string {
  const hex = createHash('sha256').update(`dev-user:${name}`).digest('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

function seconds(text: string): number {
  const match = /^(-?\d+)([smhd]?)$/.exec(text)
  if (match === null) fail(`--lifetime must be a number of seconds or end with s, m, h or d, not "${text}"`)
  const unit = { '': 1, s: 1, m: 60, h: 3600, d: 86_400 }[match[2] as '' | 's' | 'm' | 'h' | 'd']
  return Number(match[1]) * unit
}

let parsed
try {
  parsed = parseArgs({
    options: {
      scope: { type: 'string', multiple: true },
      role: { type: 'string', multiple: true },
      app: { type: 'boolean' },
      user: { type: 'string' },
      tenant: { type: 'string' },
      lifetime: { type: 'string' },
      version: { type: 'string' },
      'data-dir': { type: 'string' },
      help: { type: 'boolean', short: 'h' }
    },
    strict: true,
    allowPositionals: false
  })
} catch (error) {
  fail(error instanceof Error ? error.message : String(error))
}
const args = parsed.values
if (args.help === true) {
  process.stdout.write(HELP)
  process.exit(0)
}

const scopes = (args.scope ?? []).flatMap((s) => s.split(/[\s,]+/)).filter((s) => s !== '')
const roles = (args.role ?? []).flatMap((s) => s.split(/[\s,]+/)).filter((s) => s !== '')
const appOnly = args.app === true
if (appOnly && scopes.length > 0) fail('an app-only token (--app) carries app roles (--role), not scopes')
if (scopes.length === 0 && roles.length === 0) fail('give at least one --scope or --role')
if (args.tenant !== undefined && !GUID.test(args.tenant)) fail('--tenant must be a tenant ID (a GUID)')
if (args.version !== undefined && args.version !== '1' && args.version !== '2') fail('--version must be 1 or 2')
const version = args.version === '1' ? 1 : 2

const dataDir = args['data-dir'] ?? process.env.DATA_DIR ?? './data'
let state = readDevIssuerState(dataDir)
if (state === null) {
  // First use before the service ever started: create the keys the service will load.
  const issuer = await startTestIssuer({ port: 0 })
  const devPort = Number(process.env.DEV_ISSUER_PORT ?? 8081)
  state = { tenantId: issuer.tenantId, clientId: issuer.clientId, userObjectId: guidOf('dev'), keys: issuer.exportKeys(), url: `http://127.0.0.1:${devPort}` }
  await issuer.close()
  writeDevIssuerState(dataDir, state)
  process.stderr.write(`token: created a development issuer in ${dataDir}\n`)
}

// Sign with the saved keys on a throw-away port; the token names the service's issuer (its `iss`), which is the
// URL the development issuer last listened on.
const issuer = await startTestIssuer({ tenantId: state.tenantId, clientId: state.clientId, keys: state.keys, port: 0 })
try {
  const tenantId = (args.tenant ?? state.tenantId).toLowerCase()
  const serviceUrl = state.url ?? issuer.url
  const user = args.user
  const objectId = user === undefined ? state.userObjectId : (GUID.test(user) ? user.toLowerCase() : guidOf(user))
  const token = await issuer.mint({
    version,
    tenantId,
    objectId,
    appOnly,
    scopes,
    roles,
    expiresIn: args.lifetime === undefined ? 3600 : seconds(args.lifetime),
    ...(user !== undefined && !GUID.test(user) && !appOnly ? { name: user, username: `${user}@contoso.example` } : {}),
    ...(user === undefined && !appOnly ? { name: 'Dev User', username: 'dev.user@contoso.example' } : {}),
    claims: { iss: issuer.issuer(version, tenantId).replace(issuer.url, serviceUrl) }
  })
  process.stdout.write(`${token}\n`)
} finally {
  await issuer.close()
}

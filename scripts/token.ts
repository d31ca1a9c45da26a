/**
 * Mints an access token from the development issuer, whose keys the service keeps under DATA_DIR. The token is
 * written alone on stdout, so it can be captured: TOKEN=$(npm run -s token -- --scope Todo.Read).
 *
 * Run `npm run token -- --help` for the options.
 */
// First: refuses an unsupported Node.js before any other module is evaluated (imports run in order).
import '../src/config/refuse-unsupported-node.js'
import { createHash, randomUUID } from 'node:crypto'
import { parseArgs } from 'node:util'
import { startTestIssuer } from 'fastify-entra-id/testing'
import { loadOrCreateDevIssuerState } from '../src/auth/dev-issuer.js'

const HELP = `Usage: npm run token -- [options]

Mints an access token for the service running in development mode (no AZURE_TENANT_ID).

  --scope <name>     a delegated scope, e.g. Todo.Read (repeatable)
  --role <name>      an app role, e.g. Todo.Read.All (repeatable)
  --app              an application calling as itself (app-only token: no user, use --role), with the
                     development app's own object ID, so its todos are not the dev user's
  --user <name|oid>  the user (or, with --app, the application) object ID; a name maps to a stable ID.
                     Default: the dev user (with --app: the development app)
  --tenant <tid>     the tenant ID. Default: the development tenant (others need AUTH_ALLOWED_TENANTS)
  --lifetime <time>  seconds, or with a unit: 30m, 8h, 2d. Default 1h. Negative for an expired token:
                     the API allows 300 s of clock skew, so it still accepts a token that expired less
                     than 5 minutes ago (--lifetime -4m); --lifetime -1h is refused as expired
  --version <1|2>    token version. Default 2
  --audience <aud>   the token's audience (aud), e.g. another application's client ID, to see the API
                     refuse it (ENTRA_TOKEN_INVALID_AUDIENCE). Default: the development API's client ID
  --graph            a token shaped like a Microsoft Graph token (aud https://graph.microsoft.com, a nonce
                     in its header), to see the API refuse it (ENTRA_TOKEN_FOR_GRAPH); use --scope User.Read
  --id-token         an ID token (what sign-in gives the client: no scopes, no azp), to see the API refuse
                     it (ENTRA_TOKEN_ID_TOKEN); takes no --scope, --role, --app, --graph or --audience
  --claim <name=JSON>
                     a claim to add or override, its value as JSON (repeatable), e.g.
                     --claim 'acrs=["c1"]' --claim 'xms_cc=["cp1"]' --claim acct=1
  --data-dir <dir>   where the development keys are. Default: $DATA_DIR or ./data
  -h, --help         this help

Examples:
  npm run token -- --scope Todo.Read --scope Todo.Write
  npm run token -- --scope Todo.Read --user alice
  npm run token -- --app --role Todo.Read.All --role Todo.Write.All
  npm run token -- --graph --scope User.Read     # refused: a token for Microsoft Graph
  npm run token -- --scope Todo.Write --claim 'acrs=["c1"]'
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

/**
 * `--lifetime -1h` as the help writes it: parseArgs takes a value that starts with "-" only in the `=` form, so
 * a negative duration after `--lifetime` is joined to it.
 */
function joinNegativeValues(argv: readonly string[]): string[] {
  const joined: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const next = argv[i + 1]
    if (arg === '--lifetime' && next !== undefined && /^-\d/.test(next)) {
      joined.push(`--lifetime=${next}`)
      i++
    } else {
      joined.push(arg)
    }
  }
  return joined
}

let parsed
try {
  parsed = parseArgs({
    args: joinNegativeValues(process.argv.slice(2)),
    options: {
      scope: { type: 'string', multiple: true },
      role: { type: 'string', multiple: true },
      app: { type: 'boolean' },
      user: { type: 'string' },
      tenant: { type: 'string' },
      lifetime: { type: 'string' },
      version: { type: 'string' },
      audience: { type: 'string' },
      graph: { type: 'boolean' },
      'id-token': { type: 'boolean' },
      claim: { type: 'string', multiple: true },
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
const idToken = args['id-token'] === true
const graph = args.graph === true
if (idToken && (appOnly || graph || scopes.length > 0 || roles.length > 0 || args.audience !== undefined)) {
  fail('an ID token (--id-token) takes no --scope, --role, --app, --graph or --audience')
}
if (graph && args.audience !== undefined) fail('a Graph token (--graph) has Graph\'s audience: leave out --audience')
if (appOnly && scopes.length > 0) fail('an app-only token (--app) carries app roles (--role), not scopes')
if (!idToken && scopes.length === 0 && roles.length === 0) fail('give at least one --scope or --role')
if (args.tenant !== undefined && !GUID.test(args.tenant)) fail('--tenant must be a tenant ID (a GUID)')
if (args.version !== undefined && args.version !== '1' && args.version !== '2') fail('--version must be 1 or 2')
const version = args.version === '1' ? 1 : 2
const claims: Record<string, unknown> = {}
for (const entry of args.claim ?? []) {
  const at = entry.indexOf('=')
  if (at <= 0) fail(`--claim must be name=JSON, not "${entry}"`)
  try {
    claims[entry.slice(0, at)] = JSON.parse(entry.slice(at + 1))
  } catch {
    fail(`--claim ${entry.slice(0, at)}: the value must be JSON (a string in double quotes: name='"text"')`)
  }
}

const dataDir = args['data-dir'] ?? process.env.DATA_DIR ?? './data'
// First use before the service ever started: create the keys and IDs the service will load.
const state = await loadOrCreateDevIssuerState(dataDir, `http://127.0.0.1:${process.env.DEV_ISSUER_PORT ?? '8081'}`)

// Sign with the saved keys on a throw-away port: the token's `iss` is the saved issuer, which every service
// using this DATA_DIR accepts, whatever port its own issuer listens on.
const issuer = await startTestIssuer({ tenantId: state.tenantId, clientId: state.clientId, keys: state.keys, port: 0, issuerBaseUrl: state.issuerBaseUrl })
try {
  const tenantId = (args.tenant ?? state.tenantId).toLowerCase()
  const user = args.user
  const named = user !== undefined && !GUID.test(user)
  const defaultObjectId = appOnly ? state.appObjectId : state.userObjectId
  const objectId = user === undefined ? defaultObjectId : (named ? guidOf(appOnly ? `app:${user}` : user) : user.toLowerCase())
  const expiresIn = args.lifetime === undefined ? 3600 : seconds(args.lifetime)
  const person = {
    ...(named && !appOnly ? { name: user, username: `${user}@contoso.example` } : {}),
    ...(user === undefined && !appOnly ? { name: 'Dev User', username: 'dev.user@contoso.example' } : {})
  }
  // A Graph token's header carries a nonce (Graph alone can verify such a token); its audience is Graph's.
  const forGraph = graph ? { audience: 'https://graph.microsoft.com', header: { nonce: randomUUID() } } : {}
  const token = idToken
    ? await issuer.mintIdToken({ version, tenantId, objectId, expiresIn, ...person })
    : await issuer.mint({
      version,
      tenantId,
      objectId,
      appOnly,
      scopes,
      roles,
      expiresIn,
      ...(args.audience === undefined ? {} : { audience: args.audience }),
      ...forGraph,
      ...person,
      claims
    })
  process.stdout.write(`${token}\n`)
} finally {
  await issuer.close()
}

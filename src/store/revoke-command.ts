/**
 * `npm run revoke`: puts an identifier on the deny-list (`revoked_callers`) of the database the service uses
 * (`DATABASE_URL`, else the SQLite file under `DATA_DIR`). The service refuses the tokens it names with 401
 * `ENTRA_TOKEN_REVOKED` within `AUTH_REVOCATION_MAX_AGE_MS` (30 s by default), tokens it already accepted included.
 *
 * @packageDocumentation
 */
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { openPostgresStore } from './postgres-store.js'
import { openSqliteStore } from './sqlite-store.js'
import { REVOCATION_KINDS } from './revoked-callers.js'
import type { RevocationKind } from './revoked-callers.js'

export const REVOKE_HELP = `Usage: npm run revoke -- --<kind> <value> [--reason <text>]

Puts a caller, a client, a session or one token on the service's deny-list (the revoked_callers table of
DATABASE_URL, else of the SQLite file under DATA_DIR). Its tokens are refused (401 ENTRA_TOKEN_REVOKED) within
AUTH_REVOCATION_MAX_AGE_MS (default 30 s), tokens already in use included.

  --oid <id>       a user or service principal: its object ID (an offboarded user)
  --sub <sub>      a subject (sub claim)
  --uti <uti>      one token: its uti claim (a leaked token)
  --sid <sid>      a sign-in session (sid claim)
  --tid <id>       a whole tenant
  --client <id>    a client application: its application (client) ID (azp or appid claim)
  --reason <text>  why, kept in the table for whoever reads it later
  -h, --help       this help

Example:
  npm run revoke -- --oid 11111111-1111-4111-8111-111111111111 --reason "offboarded"
`

/** A usage mistake: the message, then the help, on stderr, and exit code 2. */
export class RevokeUsageError extends Error {}

/**
 * Runs the command with `args` (after `--`) against the database `env` names; resolves with the line to print.
 *
 * @throws {@link RevokeUsageError} for bad arguments; the store's error when the database cannot be written.
 */
export async function runRevoke(args: readonly string[], env: Readonly<Record<string, string | undefined>>): Promise<string> {
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({
      args: [...args],
      options: {
        ...Object.fromEntries(REVOCATION_KINDS.map((kind) => [kind, { type: 'string' as const }])),
        reason: { type: 'string' },
        help: { type: 'boolean', short: 'h' }
      },
      strict: true
    }).values
  } catch (error) {
    throw new RevokeUsageError((error as Error).message)
  }
  if (values.help === true) return REVOKE_HELP
  const given = REVOCATION_KINDS.filter((kind) => typeof values[kind] === 'string')
  const kind: RevocationKind | undefined = given[0]
  if (kind === undefined || given.length > 1) throw new RevokeUsageError('give exactly one of --oid, --sub, --uti, --sid, --tid, --client')
  const value = String(values[kind]).trim()
  if (value === '' || value.length > 256) throw new RevokeUsageError(`--${kind} must be 1 to 256 characters`)
  const reason = typeof values.reason === 'string' ? values.reason : undefined
  const store = env.DATABASE_URL === undefined || env.DATABASE_URL === ''
    ? await openSqliteStore({ file: join(env.DATA_DIR ?? './data', 'todos.sqlite') })
    : await openPostgresStore({ connectionString: env.DATABASE_URL })
  try {
    await store.revoke?.(kind, value, reason)
  } finally {
    await store.close()
  }
  return `revoked ${kind} ${value}: refused within AUTH_REVOCATION_MAX_AGE_MS (default 30 s) by every instance`
}

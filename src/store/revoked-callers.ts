/**
 * The operator's deny-list: the `revoked_callers` table, one row per revoked identifier, which the API's
 * `revocation` check reads (plugins/auth.ts) and `npm run revoke` writes. A token is refused when any of its
 * identifiers is listed under its kind.
 *
 * @packageDocumentation
 */
import type { Kysely } from 'kysely'
import type { RevocationFacts } from 'fastify-entra-id/core'
import type { Database } from './tables.js'

/** What a row revokes: a user or service principal (`oid`), a subject, one token (`uti`), a session, a tenant, a client application. */
export const REVOCATION_KINDS = ['oid', 'sub', 'uti', 'sid', 'tid', 'client'] as const
export type RevocationKind = typeof REVOCATION_KINDS[number]

/** The `revoked_callers` table as Kysely sees it. */
export interface RevokedCallerTable {
  kind: RevocationKind
  value: string
  /** ISO 8601 UTC. */
  revoked_at: string
  /** Why, for the operator who reads the table later; never sent to the caller. */
  reason: string | null
}

/** Whether any of `facts` is listed: one indexed query (the primary key is `kind, value`). */
export async function isListed(db: Kysely<Database>, facts: RevocationFacts): Promise<boolean> {
  const pairs: [RevocationKind, string][] = []
  for (const kind of REVOCATION_KINDS) {
    const value = kind === 'client' ? facts.clientId : facts[kind]
    if (value !== null) pairs.push([kind, value])
  }
  if (pairs.length === 0) return false
  const row = await db.selectFrom('revoked_callers').select('kind')
    .where((eb) => eb.or(pairs.map(([kind, value]) => eb.and([eb('kind', '=', kind), eb('value', '=', value)]))))
    .limit(1).executeTakeFirst()
  return row !== undefined
}

/** Lists `value` under `kind` (again: a second revocation of the same value keeps the first row). */
export async function list(db: Kysely<Database>, kind: RevocationKind, value: string, now: number, reason: string | null): Promise<void> {
  await db.insertInto('revoked_callers').values({ kind, value, revoked_at: new Date(now).toISOString(), reason })
    .onConflict((oc) => oc.columns(['kind', 'value']).doNothing()).execute()
}

/**
 * The database as the Kysely store sees it: its tables, a row as the {@link Todo} the routes answer with, and
 * the condition that limits a statement to the todos an owner filter lets the caller see.
 */
import type { ColumnType, Expression, ExpressionBuilder, SqlBool, Selectable } from 'kysely'
import type { OwnerFilter, Todo } from './store.js'
import type { RevokedCallerTable } from './revoked-callers.js'

/** The `todos` table as Kysely sees it. */
export interface TodoTable {
  id: string
  owner_tid: string
  owner_oid: string
  title: string
  // Written as 0/1: better-sqlite3 cannot bind booleans, and PostgreSQL reads '0'/'1' as boolean input.
  // Read back as a boolean (PostgreSQL) or 0/1 (SQLite).
  done: ColumnType<boolean | number, number, number>
  created_at: string
  updated_at: string
}

/** The `idempotency_keys` table as Kysely sees it: one row per caller and `Idempotency-Key`. */
export interface IdempotencyKeyTable {
  owner_tid: string
  owner_oid: string
  key: string
  fingerprint: string
  todo_id: string
  /** The created todo, as JSON: the answer a replay gives. */
  response: string
  created_at: string
  expires_at: string
}

/** The database schema as Kysely sees it. */
export interface Database {
  todos: TodoTable
  idempotency_keys: IdempotencyKeyTable
  revoked_callers: RevokedCallerTable
}

/** The condition that limits a statement to the todos `filter` lets the caller see. */
export function ownedBy(filter: OwnerFilter) {
  return (eb: ExpressionBuilder<Database, 'todos'>): Expression<SqlBool> => {
    const conditions: Expression<SqlBool>[] = []
    if (filter.tenantId !== undefined) conditions.push(eb('owner_tid', '=', filter.tenantId))
    if (filter.objectId !== undefined) conditions.push(eb('owner_oid', '=', filter.objectId))
    return eb.and(conditions)
  }
}

/** A time in milliseconds since the epoch as ISO 8601 UTC text, which sorts the same on both engines. */
export function iso(ms: number): string {
  return new Date(ms).toISOString()
}

/** A `todos` row as a {@link Todo}: `done` reads back as a boolean (PostgreSQL) or 0/1 (SQLite). */
export function toTodo(row: Selectable<TodoTable>): Todo {
  return {
    id: row.id,
    title: row.title,
    done: row.done === true || row.done === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    owner: { tenantId: row.owner_tid, objectId: row.owner_oid }
  }
}

import { randomUUID } from 'node:crypto'
import type { ColumnType, Expression, ExpressionBuilder, Kysely, Selectable, SqlBool } from 'kysely'
import { sql } from 'kysely'
import { StoreUnavailableError } from './store.js'
import type { ListQuery, NewTodo, Owner, OwnerFilter, Page, Todo, TodoPatch, TodoStore } from './store.js'

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

/** The database schema as Kysely sees it. */
export interface Database {
  todos: TodoTable
}

/** Tells whether a driver error means "the database cannot be reached" (503) rather than a bug (500). */
export type UnavailableClassifier = (error: unknown) => boolean

/**
 * The {@link TodoStore} over Kysely: one implementation for SQLite and PostgreSQL, which differ only in the
 * dialect given to Kysely and in how their drivers report an unreachable database.
 */
export class KyselyTodoStore implements TodoStore {
  readonly engine: 'sqlite' | 'postgres'
  readonly #db: Kysely<Database>
  readonly #isUnavailable: UnavailableClassifier
  readonly #onClose: () => Promise<void>

  constructor(options: {
    db: Kysely<Database>
    engine: 'sqlite' | 'postgres'
    isUnavailable: UnavailableClassifier
    onClose?: () => Promise<void>
  }) {
    this.#db = options.db
    this.engine = options.engine
    this.#isUnavailable = options.isUnavailable
    this.#onClose = options.onClose ?? (() => options.db.destroy())
  }

  async list(query: ListQuery): Promise<Page> {
    return this.#run(async () => {
      let q = this.#db.selectFrom('todos').selectAll().where(ownedBy(query.filter))
      if (query.cursor !== undefined) {
        const { createdAt, id } = query.cursor
        q = q.where((eb) => eb.or([
          eb('created_at', '>', createdAt),
          eb.and([eb('created_at', '=', createdAt), eb('id', '>', id)])
        ]))
      }
      // One more row than asked tells whether a next page exists, without a count.
      q = q.orderBy('created_at').orderBy('id').limit(query.limit + 1)
      if (query.offset !== undefined && query.offset > 0) q = q.offset(query.offset)
      const rows = await q.execute()
      const items = rows.slice(0, query.limit).map(toTodo)
      const last = items[items.length - 1]
      return { items, next: rows.length > query.limit && last !== undefined ? { createdAt: last.createdAt, id: last.id } : null }
    })
  }

  async get(id: string, filter: OwnerFilter): Promise<Todo | null> {
    return this.#run(async () => {
      const row = await this.#db.selectFrom('todos').selectAll()
        .where('id', '=', id).where(ownedBy(filter)).executeTakeFirst()
      return row === undefined ? null : toTodo(row)
    })
  }

  async create(owner: Owner, todo: NewTodo): Promise<Todo> {
    return this.#run(async () => {
      const now = new Date().toISOString()
      const row = await this.#db.insertInto('todos').values({
        id: randomUUID(),
        owner_tid: owner.tenantId,
        owner_oid: owner.objectId,
        title: todo.title,
        done: todo.done ? 1 : 0,
        created_at: now,
        updated_at: now
      }).returningAll().executeTakeFirstOrThrow()
      return toTodo(row)
    })
  }

  async update(id: string, filter: OwnerFilter, patch: TodoPatch): Promise<Todo | null> {
    return this.#run(async () => {
      // One statement: the ownership check and the change cannot be split by a failure or a concurrent request.
      const row = await this.#db.updateTable('todos').set({
        ...(patch.title === undefined ? {} : { title: patch.title }),
        ...(patch.done === undefined ? {} : { done: patch.done ? 1 : 0 }),
        updated_at: new Date().toISOString()
      }).where('id', '=', id).where(ownedBy(filter)).returningAll().executeTakeFirst()
      return row === undefined ? null : toTodo(row)
    })
  }

  async delete(id: string, filter: OwnerFilter): Promise<boolean> {
    return this.#run(async () => {
      const result = await this.#db.deleteFrom('todos')
        .where('id', '=', id).where(ownedBy(filter)).executeTakeFirst()
      return result.numDeletedRows > 0n
    })
  }

  async ping(): Promise<void> {
    await this.#run(async () => { await sql`select 1`.execute(this.#db) })
  }

  async close(): Promise<void> {
    await this.#onClose()
  }

  async #run<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation()
    } catch (error) {
      if (error instanceof StoreUnavailableError) throw error
      if (this.#isUnavailable(error)) throw new StoreUnavailableError({ cause: error })
      throw error
    }
  }
}

/** The condition that limits a statement to the todos `filter` lets the caller see. */
function ownedBy(filter: OwnerFilter) {
  return (eb: ExpressionBuilder<Database, 'todos'>): Expression<SqlBool> => {
    const conditions: Expression<SqlBool>[] = []
    if (filter.tenantId !== undefined) conditions.push(eb('owner_tid', '=', filter.tenantId))
    if (filter.objectId !== undefined) conditions.push(eb('owner_oid', '=', filter.objectId))
    return eb.and(conditions)
  }
}

function toTodo(row: Selectable<TodoTable>): Todo {
  return {
    id: row.id,
    title: row.title,
    done: row.done === true || row.done === 1,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
    owner: { tenantId: row.owner_tid, objectId: row.owner_oid }
  }
}

import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import Sqlite from 'better-sqlite3'
import { Kysely, SqliteDialect } from 'kysely'
import { KyselyTodoStore } from './kysely-store.js'
import type { StoreTimeOptions } from './kysely-store.js'
import type { Database } from './tables.js'
import { migrateToLatest } from './migrations.js'
import type { TodoStore } from './store.js'

/** Options of {@link openSqliteStore}: a file to open, or an already open better-sqlite3 database. */
export type SqliteStoreOptions = StoreTimeOptions & ({ readonly file: string } | { readonly database: Sqlite.Database })

// SQLite result codes that mean the file cannot be used right now, not that the statement is wrong
// (https://www.sqlite.org/rescode.html). `SQLITE_IOERR_*` and `SQLITE_CANTOPEN_*` are extended codes.
const UNAVAILABLE = /^SQLITE_(?:BUSY|LOCKED|IOERR|CANTOPEN|FULL|READONLY|CORRUPT|NOTADB|PROTOCOL)/

/**
 * Opens the embedded store: SQLite in one file, created with its directory when missing, migrated to the
 * latest schema. WAL journaling lets readers run while a write is in progress.
 */
export async function openSqliteStore(options: SqliteStoreOptions): Promise<TodoStore> {
  let database: Sqlite.Database
  if ('file' in options) {
    mkdirSync(dirname(options.file), { recursive: true })
    database = new Sqlite(options.file)
  } else {
    database = options.database
  }
  database.pragma('journal_mode = WAL')
  // Wait for a lock held by another connection (another process on the same file) instead of failing at once.
  database.pragma('busy_timeout = 5000')
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) })
  let store: KyselyTodoStore
  try {
    // Built first: it checks its options, and a bad one must not leave the database open.
    store = new KyselyTodoStore({
      db,
      engine: 'sqlite',
      isUnavailable: isSqliteUnavailable,
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.idempotencyKeyTtl === undefined ? {} : { idempotencyKeyTtl: options.idempotencyKeyTtl })
    })
    await migrateToLatest(db as Kysely<unknown>)
  } catch (error) {
    await db.destroy()
    throw error
  }
  return store
}

function isSqliteUnavailable(error: unknown): boolean {
  if (error instanceof Sqlite.SqliteError) return UNAVAILABLE.test(error.code)
  // better-sqlite3 throws a TypeError once the connection is closed.
  return error instanceof TypeError && error.message.includes('database connection is not open')
}

import { Kysely, PostgresDialect } from 'kysely'
import pg from 'pg'
import { KyselyTodoStore } from './kysely-store.js'
import type { Database } from './kysely-store.js'
import { migrateToLatest } from './migrations.js'
import type { TodoStore } from './store.js'

/** Options of {@link openPostgresStore}. */
export interface PostgresStoreOptions {
  /** `postgres://user:password@host:5432/database?sslmode=require` (Azure Database for PostgreSQL needs TLS). */
  readonly connectionString: string
  /** The schema that holds the tables, created when missing. Default: the server's `search_path` (`public`). */
  readonly schema?: string
  /** Largest number of connections of this instance. Default 10. */
  readonly maxConnections?: number
  /** How long to wait for a connection, in milliseconds. Default 5000. */
  readonly connectTimeout?: number
  /** Called when an idle connection fails (the server restarted); the pool replaces it. */
  readonly onIdleError?: (error: Error) => void
}

// SQLSTATE classes and codes that mean "cannot reach or use the server now"
// (https://www.postgresql.org/docs/current/errcodes-appendix.html): 08 connection exception, 53 insufficient
// resources, 57P01-57P03 shutdown and "cannot connect now", 58 system error.
const UNAVAILABLE_SQLSTATE = /^(?:08|53|57P0[123]|58)/
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE'])
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/** Opens the PostgreSQL store over a connection pool and migrates it to the latest schema. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<TodoStore> {
  const { schema } = options
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) throw new TypeError('schema must be a lower-case SQL identifier')
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeout ?? 5000,
    // A statement that hangs (a server that accepts connections but does not answer) fails instead of holding a request.
    query_timeout: 15_000,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` })
  })
  // Without a listener, an idle connection dropped by the server would crash the process.
  pool.on('error', (error) => { options.onIdleError?.(error) })
  // A connection lost while checked out (a query in flight) makes pg's Client emit 'error' as well as failing
  // the query, and the pool listens only to idle clients: without this listener the process would crash. The
  // query's own rejection reports the failure (answered as 503).
  pool.on('connect', (client) => { client.on('error', () => undefined) })
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) })
  try {
    await migrateToLatest(db as Kysely<unknown>, schema)
  } catch (error) {
    await db.destroy()
    throw error
  }
  return new KyselyTodoStore({ db, engine: 'postgres', isUnavailable: isPostgresUnavailable })
}

/**
 * Where a connection string points, as `host:port/database`, for log lines: no user name, no password. Parsed
 * by pg itself (a client that never connects), so it names what pg will try, defaults included.
 *
 * @throws TypeError when pg cannot parse the connection string.
 */
export function postgresTarget(connectionString: string): string {
  const client = new pg.Client({ connectionString })
  const host = client.host.includes(':') ? `[${client.host}]` : client.host
  return `${host}:${String(client.port)}/${client.database ?? ''}`
}

/**
 * What a failure to open (connect and migrate) the database means for a service that is starting:
 * - `unreachable`: the server cannot be reached or is not accepting connections yet; waiting may help.
 * - `login`: the server refused the user name or password (SQLSTATE 28P01, 28000); most likely a configuration
 *   mistake, but credentials may be provisioned after the service starts.
 * - `unknown-database`: the database does not exist (3D000); likewise, it may be created later.
 * - `fatal`: the server answered and something else is wrong (TLS settings, privileges, a schema that conflicts);
 *   waiting will not help.
 */
export type PostgresOpenFailure = 'unreachable' | 'login' | 'unknown-database' | 'fatal'

/** Classifies an error of {@link openPostgresStore}; see {@link PostgresOpenFailure}. */
export function classifyOpenFailure(error: unknown): PostgresOpenFailure {
  if (isPostgresUnavailable(error)) return 'unreachable'
  const { code } = error as { code?: unknown }
  if (code === '28P01' || code === '28000') return 'login'
  if (code === '3D000') return 'unknown-database'
  return 'fatal'
}

function isPostgresUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const { code } = error as { code?: unknown }
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code))) return true
  // pg's own errors when a connection ends or cannot be made in time carry no code.
  return /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Cannot use a pool after calling end/i.test(error.message)
}

import { Kysely, PostgresDialect } from 'kysely'
import type { PostgresPool, PostgresPoolClient } from 'kysely'
import pg from 'pg'
import { KyselyTodoStore } from './kysely-store.js'
import type { StoreTimeOptions } from './kysely-store.js'
import type { Database } from './tables.js'
import { migrateToLatest } from './migrations.js'
import type { TodoStore } from './store.js'

/** Options of {@link openPostgresStore}. */
export interface PostgresStoreOptions extends StoreTimeOptions {
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
  /**
   * The server aborts a statement that runs longer, in milliseconds (PostgreSQL's `statement_timeout`, set on
   * every connection). Must be less than {@link PostgresStoreOptions.queryTimeout}. Default 5000.
   */
  readonly statementTimeout?: number
  /**
   * The server gives up waiting for a lock after this long, in milliseconds (`lock_timeout`); `0` leaves lock
   * waits to `statementTimeout`. At most `statementTimeout`. Default 3000.
   */
  readonly lockTimeout?: number
  /**
   * The server ends a session whose transaction stays idle this long, in milliseconds
   * (`idle_in_transaction_session_timeout`): one whose client vanished without the server noticing, whose locks
   * (an idempotency key being claimed) would otherwise block retries. Default 10000.
   */
  readonly idleInTransactionTimeout?: number
  /**
   * We give up on an answer after this long, in milliseconds (pg's `query_timeout`), and close the connection.
   * Longer than `statementTimeout`, so a server that is merely slow aborts the statement itself and says so
   * first; this one is for a server that does not answer at all. Default `statementTimeout` + 3000.
   */
  readonly queryTimeout?: number
}

/** Default of {@link PostgresStoreOptions.statementTimeout}, in milliseconds. */
export const DEFAULT_STATEMENT_TIMEOUT = 5000
/** Default of {@link PostgresStoreOptions.lockTimeout}, in milliseconds. */
export const DEFAULT_LOCK_TIMEOUT = 3000
/** Default of {@link PostgresStoreOptions.idleInTransactionTimeout}, in milliseconds. */
export const DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT = 10_000
// What the client waits beyond statement_timeout for the server's own "canceling statement" answer.
const QUERY_TIMEOUT_MARGIN = 3000

/** The session timeouts of every connection, checked; see {@link PostgresStoreOptions}. */
export interface PostgresTimeouts {
  readonly statementTimeout: number
  readonly lockTimeout: number
  readonly idleInTransactionTimeout: number
  readonly queryTimeout: number
}

/**
 * The timeouts {@link openPostgresStore} sets, defaults applied.
 *
 * @throws TypeError naming the option when one is not a whole number of milliseconds, or the order
 *   `lockTimeout <= statementTimeout < queryTimeout` does not hold.
 */
export function postgresTimeouts(options: Pick<PostgresStoreOptions, 'statementTimeout' | 'lockTimeout' | 'idleInTransactionTimeout' | 'queryTimeout'>): PostgresTimeouts {
  const statementTimeout = milliseconds('statementTimeout', options.statementTimeout ?? DEFAULT_STATEMENT_TIMEOUT, 1)
  const lockTimeout = milliseconds('lockTimeout', options.lockTimeout ?? Math.min(DEFAULT_LOCK_TIMEOUT, statementTimeout), 0)
  const idleInTransactionTimeout = milliseconds('idleInTransactionTimeout', options.idleInTransactionTimeout ?? DEFAULT_IDLE_IN_TRANSACTION_TIMEOUT, 1)
  const queryTimeout = milliseconds('queryTimeout', options.queryTimeout ?? statementTimeout + QUERY_TIMEOUT_MARGIN, 1)
  if (lockTimeout > statementTimeout) throw new TypeError('"lockTimeout" option must not be more than "statementTimeout"')
  // Otherwise we would answer 503 while the server may still run, and commit, the statement.
  if (queryTimeout <= statementTimeout) throw new TypeError('"queryTimeout" option must be more than "statementTimeout"')
  return { statementTimeout, lockTimeout, idleInTransactionTimeout, queryTimeout }
}

function milliseconds(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw new TypeError(`"${name}" option must be ${min === 0 ? 'a non-negative' : 'a positive'} integer (milliseconds)`)
  }
  return value
}

// SQLSTATE classes and codes that mean "cannot reach or use the server now"
// (https://www.postgresql.org/docs/current/errcodes-appendix.html): 08 connection exception, 53 insufficient
// resources, 57P01-57P03 shutdown and "cannot connect now", 58 system error; and a statement the server aborted
// because it waited too long: 57014 query_canceled (statement_timeout), 55P03 lock_not_available (lock_timeout),
// 25P03 idle_in_transaction_session_timeout, 40001 serialization failure and 40P01 deadlock (retrying helps).
const UNAVAILABLE_SQLSTATE = /^(?:08|53|57P0[123]|58|57014$|55P03$|25P03$|40001$|40P01$)/
const UNAVAILABLE_ERRNO = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', 'ENOTFOUND', 'EAI_AGAIN', 'EPIPE'])
const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/

/** Opens the PostgreSQL store over a connection pool and migrates it to the latest schema. */
export async function openPostgresStore(options: PostgresStoreOptions): Promise<TodoStore> {
  const { schema } = options
  if (schema !== undefined && !SCHEMA_NAME.test(schema)) throw new TypeError('schema must be a lower-case SQL identifier')
  const timeouts = postgresTimeouts(options)
  const pool = new pg.Pool({
    connectionString: options.connectionString,
    max: options.maxConnections ?? 10,
    connectionTimeoutMillis: options.connectTimeout ?? 5000,
    // Set by the server on each session: a statement that runs or waits too long is aborted there, so the 503
    // we answer for it is true (nothing was committed).
    statement_timeout: timeouts.statementTimeout,
    lock_timeout: timeouts.lockTimeout,
    idle_in_transaction_session_timeout: timeouts.idleInTransactionTimeout,
    // A server that does not answer at all (hung, or the network) fails the query instead of holding a request;
    // the connection is then discarded (see discardingPool).
    query_timeout: timeouts.queryTimeout,
    ...(schema === undefined ? {} : { options: `-c search_path=${schema}` })
  })
  // Without a listener, an idle connection dropped by the server would crash the process.
  pool.on('error', (error) => { options.onIdleError?.(error) })
  // A connection lost while checked out (a query in flight) makes pg's Client emit 'error' as well as failing
  // the query, and the pool listens only to idle clients: without this listener the process would crash. The
  // query's own rejection reports the failure (answered as 503).
  pool.on('connect', (client) => { client.on('error', () => undefined) })
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool: discardingPool(pool) }) })
  let store: KyselyTodoStore
  try {
    // Built first: it checks its options, and a bad one must not leave the pool open.
    store = new KyselyTodoStore({
      db,
      engine: 'postgres',
      isUnavailable: isPostgresUnavailable,
      isLockTimeout: (error) => (error as { code?: unknown } | null)?.code === '55P03',
      ...(options.now === undefined ? {} : { now: options.now }),
      ...(options.idempotencyKeyTtl === undefined ? {} : { idempotencyKeyTtl: options.idempotencyKeyTtl })
    })
    await migrateToLatest(db as Kysely<unknown>, schema)
  } catch (error) {
    await db.destroy()
    throw error
  }
  return store
}

/** A query on a connection that {@link discardingPool} gave up on: it is never sent. */
class DiscardedConnectionError extends Error {
  constructor(options: { cause: unknown }) {
    // The first failure's message, so the 503's log line names it rather than this follow-up.
    const first = options.cause instanceof Error ? options.cause.message : String(options.cause)
    super(`The connection was discarded after a query failed without an answer from the server: ${first}`, options)
    this.name = 'DiscardedConnectionError'
  }
}

/**
 * The pool as Kysely uses it, except that a connection on which a query failed without the server's answer (pg's
 * `query_timeout`, a lost connection) is never used again: later queries on it (Kysely's `ROLLBACK`) fail at
 * once instead of waiting behind the unanswered one, and it is closed, not returned to the pool, on release.
 * pg keeps such a connection open and would hand it to the next request, queued behind a statement the server
 * may still run.
 */
function discardingPool(pool: pg.Pool): PostgresPool {
  return {
    async connect(): Promise<PostgresPoolClient> {
      const client = await pool.connect()
      let failed: unknown = null
      const query = async (text: string, parameters: readonly unknown[]) => {
        if (failed !== null) throw new DiscardedConnectionError({ cause: failed })
        try {
          return await client.query(text, [...parameters])
        } catch (error) {
          // A DatabaseError is the server's answer: the connection is in a known state.
          if (!(error instanceof pg.DatabaseError)) failed = error
          throw error
        }
      }
      return {
        // Kysely's streaming overload (a cursor) is not used: the dialect is given no cursor class.
        query: query as unknown as PostgresPoolClient['query'],
        release(destroy?: boolean) { client.release(destroy === true || failed !== null) }
      }
    },
    end: () => pool.end()
  }
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
  if (error instanceof DiscardedConnectionError) return true
  const { code } = error as { code?: unknown }
  if (typeof code === 'string' && (UNAVAILABLE_SQLSTATE.test(code) || UNAVAILABLE_ERRNO.has(code))) return true
  // pg's own errors when a connection ends or cannot be made in time carry no code.
  return /Connection terminated|timeout exceeded when trying to connect|Query read timeout|Client has encountered a connection error|Client was closed and is not queryable|Cannot use a pool after calling end/i.test(error.message)
}

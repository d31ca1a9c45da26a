import { join } from 'node:path'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { ConfigError } from '../src/config/config-error.js'
import { classifyOpenFailure, openPostgresStore, postgresTarget } from '../src/store/postgres-store.js'
import type { PostgresOpenFailure } from '../src/store/postgres-store.js'
import { openSqliteStore } from '../src/store/sqlite-store.js'
import { StoreUnavailableError } from '../src/store/store.js'
import type { TodoStore } from '../src/store/store.js'

declare module 'fastify' {
  interface FastifyInstance {
    /**
     * The todo store. While the service waits for PostgreSQL at start-up, a stand-in whose every call rejects
     * with {@link StoreUnavailableError} (503); the opened store once the database was reached.
     */
    readonly store: TodoStore
    /** `false` while the service waits for the database at start-up (still retrying), `true` from then on. */
    readonly storeConnected: boolean
  }
}

/** Options of the store plugin. */
export interface StorePluginOptions {
  /** A store to use instead of the configured one (tests). The caller keeps it and closes it. */
  store?: TodoStore
  /**
   * PostgreSQL unreachable at start-up: how long to wait before the first retry, in milliseconds; each failed
   * attempt doubles the wait, up to {@link StorePluginOptions.maxRetryDelay}. Default 1000.
   */
  retryDelay?: number
  /** The longest wait between two attempts to reach PostgreSQL at start-up, in milliseconds. Default 30000. */
  maxRetryDelay?: number
}

const DEFAULT_RETRY_DELAY = 1000
const DEFAULT_MAX_RETRY_DELAY = 30_000

/** What the operator should check, by kind of failure; waiting alone is expected to fix `unreachable`. */
const HINT: Readonly<Record<Exclude<PostgresOpenFailure, 'fatal'>, string>> = {
  unreachable: '',
  login: '; check the user name and password in DATABASE_URL',
  'unknown-database': '; check the database name in DATABASE_URL'
}

async function store(app: FastifyInstance, options: StorePluginOptions): Promise<void> {
  const retryDelay = checkDelay('retryDelay', options.retryDelay ?? DEFAULT_RETRY_DELAY)
  const maxRetryDelay = checkDelay('maxRetryDelay', options.maxRetryDelay ?? DEFAULT_MAX_RETRY_DELAY)
  if (maxRetryDelay < retryDelay) throw new TypeError('"maxRetryDelay" option must not be less than "retryDelay"')

  if (options.store !== undefined) {
    app.decorate('store', options.store)
    app.decorate('storeConnected', true)
    return
  }
  const { DATABASE_URL, DATA_DIR } = app.config
  if (DATABASE_URL === undefined) {
    const opened = await openSqlite(join(DATA_DIR, 'todos.sqlite'))
    app.log.info(`database: connected, schema migrated (SQLite, ${opened.file})`)
    app.decorate('store', opened.store)
    app.decorate('storeConnected', true)
    // onClose hooks run after the server stopped accepting and in-flight requests finished.
    app.addHook('onClose', async () => { await opened.store.close() })
    return
  }

  const connector = new PostgresConnector(app, DATABASE_URL, { retryDelay, maxRetryDelay })
  await connector.start()
  app.decorate('store', { getter: () => connector.store })
  app.decorate('storeConnected', { getter: () => connector.connected })
  app.addHook('onClose', async () => { await connector.close() })
}

function checkDelay(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 1) throw new TypeError(`"${name}" option must be a positive integer (milliseconds)`)
  return value
}

/** SQLite under DATA_DIR: a file that cannot be opened is a configuration mistake (a path or its permissions). */
async function openSqlite(file: string): Promise<{ store: TodoStore, file: string }> {
  try {
    return { store: await openSqliteStore({ file }), file }
  } catch (error) {
    // Only a file-system refusal is DATA_DIR's fault; anything else (the driver failing to load, say) is not
    // blamed on it, and reaches the start-up report as itself.
    if (!isFileSystemRefusal(error)) throw error
    throw new ConfigError([`DATA_DIR must be a writable directory: cannot open the SQLite database ${file}: ${oneLine(error)}`])
  }
}

// Node's file-system errors (creating DATA_DIR) and SQLite's own codes for a file it cannot open or write.
const FILE_SYSTEM_REFUSAL = /^(?:EACCES|EPERM|ENOENT|ENOTDIR|EISDIR|EROFS|EEXIST|ENOSPC|SQLITE_(?:CANTOPEN|READONLY|PERM|IOERR|FULL|NOTADB|CORRUPT))/

function isFileSystemRefusal(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && FILE_SYSTEM_REFUSAL.test(code)
}

/**
 * PostgreSQL that may not be reachable yet. The first attempt runs during start-up; when the server cannot be
 * reached, or refuses the login or the database name (which may be provisioned after the service), the service
 * starts anyway and retries in the background with exponential backoff, as the Entra plugin does for the
 * signing keys: the orchestrator sees "not ready" rather than a crash loop, and the service recovers by itself.
 * Migrations run once, in the attempt that succeeds.
 */
class PostgresConnector {
  readonly #app: FastifyInstance
  readonly #url: string
  readonly #target: string
  readonly #retryDelay: number
  readonly #maxRetryDelay: number
  #opened: TodoStore | null = null
  #failures = 0
  #timer: NodeJS.Timeout | undefined
  #attempt: Promise<void> | null = null
  #closed = false

  constructor(app: FastifyInstance, url: string, delays: { retryDelay: number, maxRetryDelay: number }) {
    this.#app = app
    this.#url = url
    try {
      this.#target = postgresTarget(url)
    } catch (error) {
      // The value is never echoed: it holds the password.
      throw new ConfigError([`DATABASE_URL must be a PostgreSQL connection URL, postgres://user:password@host:5432/database (${oneLine(error)})`])
    }
    this.#retryDelay = delays.retryDelay
    this.#maxRetryDelay = delays.maxRetryDelay
  }

  /** The opened store, or the stand-in that answers 503 while waiting. */
  get store(): TodoStore {
    return this.#opened ?? NOT_CONNECTED
  }

  get connected(): boolean {
    return this.#opened !== null
  }

  /** The first attempt. Rejects with a {@link ConfigError} only when waiting cannot help. */
  async start(): Promise<void> {
    await this.#run()
  }

  /** Stops retrying, waits for an attempt in flight, and closes the pool. */
  async close(): Promise<void> {
    this.#closed = true
    clearTimeout(this.#timer)
    await this.#attempt
    await this.#opened?.close()
  }

  #run(): Promise<void> {
    this.#attempt = this.#open().finally(() => { this.#attempt = null })
    return this.#attempt
  }

  async #open(): Promise<void> {
    let opened: TodoStore
    try {
      opened = await openPostgresStore({
        connectionString: this.#url,
        onIdleError: (error) => { this.#app.log.warn(`database: an idle connection failed (${oneLine(error)}); it will be replaced`) }
      })
    } catch (error) {
      if (this.#closed) return
      this.#failed(error)
      return
    }
    if (this.#closed) {
      await opened.close()
      return
    }
    this.#opened = opened
    const after = this.#failures === 0 ? '' : `, after ${String(this.#failures + 1)} attempts`
    this.#app.log.info(`database: connected, schema migrated (PostgreSQL, ${this.#target}${after})`)
  }

  #failed(error: unknown): void {
    const kind = classifyOpenFailure(error)
    const reason = oneLine(error)
    if (kind === 'fatal') {
      // The server answered and refused for a reason waiting does not fix (TLS, privileges, a conflicting
      // schema). At start-up that fails start-up; later (a retry), it is logged and retried like the rest, since
      // the service is already running and answering 503.
      if (this.#failures === 0) throw new ConfigError([`DATABASE_URL: the database ${this.#target} could not be opened: ${reason}`])
    }
    this.#failures += 1
    const delay = Math.min(this.#retryDelay * 2 ** (this.#failures - 1), this.#maxRetryDelay)
    const hint = kind === 'fatal' ? '' : HINT[kind]
    this.#app.log.warn(`database: cannot open DATABASE_URL (${this.#target}): ${reason}${hint}; ` +
      `data routes answer 503 meanwhile; attempt ${String(this.#failures)}, retrying in ${duration(delay)}`)
    this.#timer = setTimeout(() => {
      this.#run().catch((error: unknown) => { this.#app.log.error(`database: retry failed unexpectedly: ${oneLine(error)}`) })
    }, delay)
    // A service shut down while waiting must not be kept alive by the retry.
    this.#timer.unref()
  }
}

/** The store while the database is out of reach: every call is a 503, so nothing is acknowledged unstored. */
const NOT_CONNECTED: TodoStore = {
  engine: 'postgres',
  list: unavailable,
  get: unavailable,
  create: unavailable,
  update: unavailable,
  delete: unavailable,
  ping: unavailable,
  close: () => Promise.resolve()
}

function unavailable(): Promise<never> {
  return Promise.reject(new StoreUnavailableError())
}

/** A driver error on one line: its message and code, never its stack or its cause chain. */
function oneLine(error: unknown): string {
  if (!(error instanceof Error)) return String(error).replace(/\s+/g, ' ')
  let message = error.message
  // Node reports a refused connection to every address of a host name as an AggregateError with no message.
  if (message === '' && error instanceof AggregateError) {
    const first: unknown = error.errors[0]
    if (first instanceof Error) message = first.message
  }
  const { code } = error as { code?: unknown }
  const coded = typeof code === 'string' && !message.includes(code) ? `${message} (${code})` : message
  return (coded === '' ? error.name : coded).replace(/\s+/g, ' ')
}

function duration(ms: number): string {
  return ms < 1000 ? `${String(ms)} ms` : `${String(ms / 1000)} s`
}

/**
 * Opens the store (PostgreSQL with `DATABASE_URL`, else SQLite under `DATA_DIR`), migrates it and closes it on
 * shutdown. PostgreSQL out of reach at start-up does not stop the service: it starts, answers 503 on data routes
 * and "not ready", and retries in the background (see {@link StorePluginOptions}). SQLite that cannot be opened
 * fails start-up with a `ConfigError` naming `DATA_DIR`.
 */
export default fp(store, { name: 'store', fastify: '5.x', dependencies: ['config'] })

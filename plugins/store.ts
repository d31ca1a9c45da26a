import { join } from 'node:path'
import fp from 'fastify-plugin'
import type { FastifyInstance } from 'fastify'
import { openPostgresStore } from '../lib/postgres-store.js'
import { openSqliteStore } from '../lib/sqlite-store.js'
import type { TodoStore } from '../lib/store.js'

declare module 'fastify' {
  interface FastifyInstance {
    /** The todo store. */
    store: TodoStore
  }
}

/** Options of the store plugin. */
export interface StorePluginOptions {
  /** A store to use instead of the configured one (tests). The caller keeps it and closes it. */
  store?: TodoStore
}

async function store(app: FastifyInstance, options: StorePluginOptions): Promise<void> {
  if (options.store !== undefined) {
    app.decorate('store', options.store)
    return
  }
  const { DATABASE_URL, DATA_DIR } = app.config
  const opened = DATABASE_URL === undefined
    ? await openSqliteStore({ file: join(DATA_DIR, 'todos.sqlite') })
    : await openPostgresStore({
      connectionString: DATABASE_URL,
      onIdleError: (error) => { app.log.warn({ err: error }, 'database: an idle connection failed; it will be replaced') }
    })
  app.log.info({ engine: opened.engine }, 'database: schema migrated')
  app.decorate('store', opened)
  // onClose hooks run after the server stopped accepting and in-flight requests finished.
  app.addHook('onClose', async () => { await opened.close() })
}

/**
 * Opens the store (PostgreSQL with `DATABASE_URL`, else SQLite under `DATA_DIR`), migrates it at start-up and
 * closes it on shutdown.
 */
export default fp(store, { name: 'store', fastify: '5.x', dependencies: ['config'] })

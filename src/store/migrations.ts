import { Migrator } from 'kysely'
import type { Kysely, Migration } from 'kysely'

/**
 * The schema's migrations, in order. Each runs once per database; Kysely records them in `kysely_migration` and
 * takes a lock, so several instances starting together migrate once. The same migrations serve SQLite and
 * PostgreSQL: only portable types are used (`text`, `boolean`), and times are ISO 8601 UTC text, whose fixed
 * width makes text order equal time order on both engines.
 */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001_todos': {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('todos')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('owner_tid', 'text', (c) => c.notNull())
        .addColumn('owner_oid', 'text', (c) => c.notNull())
        .addColumn('title', 'text', (c) => c.notNull())
        .addColumn('done', 'boolean', (c) => c.notNull().defaultTo(false))
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute()
      // A user's page: their todos in list order.
      await db.schema.createIndex('todos_owner_order_idx').on('todos')
        .columns(['owner_tid', 'owner_oid', 'created_at', 'id']).execute()
      // An application's page over every todo.
      await db.schema.createIndex('todos_order_idx').on('todos').columns(['created_at', 'id']).execute()
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('todos').execute()
    }
  },
  // Idempotency-Key of POST /api/todos: one row per caller and key, written in the transaction that creates the
  // todo, so a key is stored exactly when its todo is. The answer is kept as sent (JSON), so a replay returns the
  // first answer even after the todo changed or was deleted.
  '0002_idempotency_keys': {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('idempotency_keys')
        .addColumn('owner_tid', 'text', (c) => c.notNull())
        .addColumn('owner_oid', 'text', (c) => c.notNull())
        .addColumn('key', 'text', (c) => c.notNull())
        // SHA-256 (hex) of the request's fields, defaults applied.
        .addColumn('fingerprint', 'text', (c) => c.notNull())
        .addColumn('todo_id', 'text', (c) => c.notNull())
        .addColumn('response', 'text', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addPrimaryKeyConstraint('idempotency_keys_pkey', ['owner_tid', 'owner_oid', 'key'])
        .execute()
      // The sweep of expired keys.
      await db.schema.createIndex('idempotency_keys_expiry_idx').on('idempotency_keys').column('expires_at').execute()
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('idempotency_keys').execute()
    }
  },
  // The operator's deny-list (revoked-callers.ts): a revoked user, session, client or leaked token, by kind.
  '0003_revoked_callers': {
    async up(db: Kysely<unknown>) {
      await db.schema.createTable('revoked_callers')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('revoked_at', 'text', (c) => c.notNull())
        .addColumn('reason', 'text')
        .addPrimaryKeyConstraint('revoked_callers_pkey', ['kind', 'value'])
        .execute()
    },
    async down(db: Kysely<unknown>) {
      await db.schema.dropTable('revoked_callers').execute()
    }
  }
}

/**
 * Brings the database to the latest schema. `schema` (PostgreSQL only) names the schema that holds the tables
 * and Kysely's bookkeeping; it is created when missing.
 *
 * @throws the first migration's error.
 */
export async function migrateToLatest(db: Kysely<unknown>, schema?: string): Promise<void> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: () => Promise.resolve({ ...migrations }) },
    ...(schema === undefined ? {} : { migrationTableSchema: schema })
  })
  const { error } = await migrator.migrateToLatest()
  if (error !== undefined) throw error instanceof Error ? error : new Error("migration failed", { cause: error })
}

import { createHash, randomUUID } from 'node:crypto'
import type { ExpressionBuilder, Kysely, Transaction } from 'kysely'
import { sql } from 'kysely'
import { iso, ownedBy, toTodo } from './tables.js'
import type { Database } from './tables.js'
import { isListed, list } from './revoked-callers.js'
import type { RevocationKind } from './revoked-callers.js'
import type { RevocationFacts } from 'fastify-entra-id/core'
import { IdempotencyKeyInUseError, IdempotencyKeyReusedError, StoreError, StoreUnavailableError } from './store.js'
import type { CreateOptions, Created, ListQuery, NewTodo, Owner, OwnerFilter, Page, Todo, TodoPatch, TodoStore } from './store.js'

/** Tells whether a driver error means "the database cannot be reached" (503) rather than a bug (500). */
export type UnavailableClassifier = (error: unknown) => boolean

/** Options of both engines' stores about time and idempotency keys. */
export interface StoreTimeOptions {
  /** The store's clock, in milliseconds since the epoch: todos' times and keys' expiry. Default `Date.now`. */
  readonly now?: () => number
  /** How long an `Idempotency-Key` is remembered, in milliseconds. Default 86 400 000 (24 hours). */
  readonly idempotencyKeyTtl?: number
}

/** Default lifetime of an idempotency key: 24 hours, in milliseconds. */
export const DEFAULT_IDEMPOTENCY_KEY_TTL = 24 * 60 * 60 * 1000
// Expired keys are swept by the keyed creates themselves, at most once a minute and a bounded batch at a time,
// so the table stays small without a timer to start and stop.
const SWEEP_INTERVAL = 60_000
const SWEEP_BATCH = 500

/**
 * The {@link TodoStore} over Kysely: one implementation for SQLite and PostgreSQL, which differ only in the
 * dialect given to Kysely and in how their drivers report an unreachable database.
 */
export class KyselyTodoStore implements TodoStore {
  readonly engine: 'sqlite' | 'postgres'
  readonly #db: Kysely<Database>
  readonly #isUnavailable: UnavailableClassifier
  readonly #isLockTimeout: (error: unknown) => boolean
  readonly #onClose: () => Promise<void>
  readonly #now: () => number
  readonly #keyTtl: number
  /** Keys whose create is running in this process, as `tid oid key`: a duplicate meanwhile is a 409 at once. */
  readonly #inFlight = new Set<string>()
  #nextSweep = 0

  constructor(options: StoreTimeOptions & {
    db: Kysely<Database>
    engine: 'sqlite' | 'postgres'
    isUnavailable: UnavailableClassifier
    /** Tells whether an error is the database giving up waiting for a lock (PostgreSQL's lock_timeout). */
    isLockTimeout?: (error: unknown) => boolean
    onClose?: () => Promise<void>
  }) {
    const ttl = options.idempotencyKeyTtl ?? DEFAULT_IDEMPOTENCY_KEY_TTL
    if (!Number.isSafeInteger(ttl) || ttl < 1) throw new TypeError('"idempotencyKeyTtl" option must be a positive integer (milliseconds)')
    this.#db = options.db
    this.engine = options.engine
    this.#isUnavailable = options.isUnavailable
    this.#isLockTimeout = options.isLockTimeout ?? (() => false)
    this.#onClose = options.onClose ?? (() => options.db.destroy())
    this.#now = options.now ?? Date.now
    this.#keyTtl = ttl
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

  async create(owner: Owner, todo: NewTodo, options: CreateOptions = {}): Promise<Created> {
    const key = options.idempotencyKey
    if (key === undefined) {
      return this.#run(async () => {
        const row = await this.#write((trx) => trx.insertInto('todos').values(this.#newRow(owner, todo)).returningAll().executeTakeFirstOrThrow())
        return { todo: toTodo(row), replayed: false }
      })
    }
    const slot = `${owner.tenantId} ${owner.objectId} ${key}`
    if (this.#inFlight.has(slot)) throw new IdempotencyKeyInUseError()
    this.#inFlight.add(slot)
    try {
      return await this.#run(async () => {
        await this.#sweep()
        return await this.#write((trx) => this.#createOnce(trx, owner, todo, key))
      })
    } finally {
      this.#inFlight.delete(slot)
    }
  }

  /**
   * The keyed create, in one transaction: claim the key, then insert the todo. A key already claimed (committed)
   * is a replay or a 422. On PostgreSQL, a key claimed by a transaction still open elsewhere (another instance)
   * makes the claim wait for that transaction, then see its outcome; waiting longer than lock_timeout is a 409.
   */
  async #createOnce(trx: Transaction<Database>, owner: Owner, todo: NewTodo, key: string): Promise<Created> {
    const now = this.#now()
    const row = this.#newRow(owner, todo, now)
    const fingerprint = fingerprintOf(todo)
    const mine = (eb: ExpressionBuilder<Database, 'idempotency_keys'>) => eb.and([
      eb('owner_tid', '=', owner.tenantId), eb('owner_oid', '=', owner.objectId), eb('key', '=', key)
    ])
    // An expired key is forgotten: the request is new.
    await trx.deleteFrom('idempotency_keys').where(mine).where('expires_at', '<=', iso(now)).execute()
    let claimed: bigint
    try {
      const result = await trx.insertInto('idempotency_keys').values({
        owner_tid: owner.tenantId,
        owner_oid: owner.objectId,
        key,
        fingerprint,
        todo_id: row.id,
        response: JSON.stringify(toTodo(row)),
        created_at: row.created_at,
        expires_at: iso(now + this.#keyTtl)
      }).onConflict((oc) => oc.columns(['owner_tid', 'owner_oid', 'key']).doNothing()).executeTakeFirst()
      claimed = result.numInsertedOrUpdatedRows ?? 0n
    } catch (error) {
      if (this.#isLockTimeout(error)) throw new IdempotencyKeyInUseError({ cause: error })
      throw error
    }
    if (claimed === 0n) {
      const first = await trx.selectFrom('idempotency_keys').select(['fingerprint', 'response']).where(mine).executeTakeFirstOrThrow()
      if (first.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError()
      return { todo: JSON.parse(first.response) as Todo, replayed: true }
    }
    const inserted = await trx.insertInto('todos').values(row).returningAll().executeTakeFirstOrThrow()
    return { todo: toTodo(inserted), replayed: false }
  }

  /** Deletes a batch of expired keys, at most once per {@link SWEEP_INTERVAL} of the store's clock. */
  async #sweep(): Promise<void> {
    const now = this.#now()
    if (now < this.#nextSweep) return
    this.#nextSweep = now + SWEEP_INTERVAL
    await this.#db.deleteFrom('idempotency_keys').where((eb) => eb(eb.refTuple('owner_tid', 'owner_oid', 'key'), 'in',
      eb.selectFrom('idempotency_keys').select(['owner_tid', 'owner_oid', 'key']).where('expires_at', '<=', iso(now))
        .limit(SWEEP_BATCH).$asTuple('owner_tid', 'owner_oid', 'key'))).execute()
  }

  #newRow(owner: Owner, todo: NewTodo, now = this.#now()) {
    const at = iso(now)
    return {
      id: randomUUID(),
      owner_tid: owner.tenantId,
      owner_oid: owner.objectId,
      title: todo.title,
      done: todo.done ? 1 : 0,
      created_at: at,
      updated_at: at
    }
  }

  async update(id: string, filter: OwnerFilter, patch: TodoPatch): Promise<Todo | null> {
    return this.#run(async () => {
      // One statement: the ownership check and the change cannot be split by a failure or a concurrent request.
      const row = await this.#write((trx) => trx.updateTable('todos').set({
        ...(patch.title === undefined ? {} : { title: patch.title }),
        ...(patch.done === undefined ? {} : { done: patch.done ? 1 : 0 }),
        updated_at: iso(this.#now())
      }).where('id', '=', id).where(ownedBy(filter)).returningAll().executeTakeFirst())
      return row === undefined ? null : toTodo(row)
    })
  }

  async delete(id: string, filter: OwnerFilter): Promise<boolean> {
    return this.#run(async () => {
      const result = await this.#write((trx) => trx.deleteFrom('todos')
        .where('id', '=', id).where(ownedBy(filter)).executeTakeFirst())
      return result.numDeletedRows > 0n
    })
  }

  async ping(): Promise<void> {
    await this.#run(async () => { await sql`select 1`.execute(this.#db) })
  }

  async isRevoked(facts: RevocationFacts): Promise<boolean> {
    return this.#run(() => isListed(this.#db, facts))
  }

  async revoke(kind: RevocationKind, value: string, reason?: string): Promise<void> {
    await this.#run(() => list(this.#db, kind, value, this.#now(), reason ?? null))
  }

  async close(): Promise<void> {
    await this.#onClose()
  }

  /**
   * A write, in a transaction even when it is one statement: PostgreSQL commits a lone statement as soon as it
   * runs, even if its answer never reaches us (a connection that hangs, then resumes after we answered 503). In a
   * transaction, nothing is committed until our `COMMIT` arrives, which we send only after every statement
   * answered; a connection we gave up on is closed, so its transaction is rolled back.
   */
  #write<T>(statements: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
    return this.#db.transaction().execute(statements)
  }

  async #run<T>(operation: () => Promise<T>): Promise<T> {
    try {
      return await operation()
    } catch (error) {
      if (error instanceof StoreError) throw error
      if (this.#isUnavailable(error)) throw new StoreUnavailableError({ cause: error })
      throw error
    }
  }
}

/** The fields a request asked for, defaults applied, as SHA-256 hex: equal for requests that mean the same. */
function fingerprintOf(todo: NewTodo): string {
  return createHash('sha256').update(JSON.stringify([todo.title, todo.done])).digest('hex')
}

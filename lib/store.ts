/**
 * The todo store: what the routes need from a database, whichever engine serves it.
 *
 * @packageDocumentation
 */

/** Who owns a todo: the caller's tenant (`tid`) and object ID (`oid`), stable across applications of a tenant. */
export interface Owner {
  readonly tenantId: string
  readonly objectId: string
}

/** A stored todo. Times are ISO 8601 UTC strings with milliseconds. */
export interface Todo {
  readonly id: string
  readonly title: string
  readonly done: boolean
  readonly createdAt: string
  readonly updatedAt: string
  readonly owner: Owner
}

/**
 * Which todos an operation may see. A user always gives both fields (their own todos); an application with the
 * "all todos" role gives none (every todo) or only `objectId` (the `?owner=` filter).
 */
export interface OwnerFilter {
  readonly tenantId?: string
  readonly objectId?: string
}

/** A position in the list, after which the next page starts: the last item's `createdAt` and `id`. */
export interface Cursor {
  readonly createdAt: string
  readonly id: string
}

/** A page request: `limit` items after `cursor`, or after skipping `offset` items. */
export interface ListQuery {
  readonly filter: OwnerFilter
  readonly limit: number
  readonly cursor?: Cursor
  readonly offset?: number
}

/** A page of todos, oldest first; `next` is the cursor of the following page, `null` on the last page. */
export interface Page {
  readonly items: readonly Todo[]
  readonly next: Cursor | null
}

/** Fields of a new todo. */
export interface NewTodo {
  readonly title: string
  readonly done: boolean
}

/** Fields to change; at least one is given. */
export interface TodoPatch {
  readonly title?: string
  readonly done?: boolean
}

/**
 * The store. Every write is a single SQL statement, so a failure leaves nothing half-written. Methods reject with
 * {@link StoreUnavailableError} when the database cannot be reached.
 */
export interface TodoStore {
  /** `sqlite` or `postgres`. */
  readonly engine: 'sqlite' | 'postgres'
  list(query: ListQuery): Promise<Page>
  /** The todo, or `null` when it does not exist or the filter hides it. */
  get(id: string, filter: OwnerFilter): Promise<Todo | null>
  create(owner: Owner, todo: NewTodo): Promise<Todo>
  /** The updated todo, or `null` when it does not exist or the filter hides it. */
  update(id: string, filter: OwnerFilter, patch: TodoPatch): Promise<Todo | null>
  /** `true` when a todo was deleted. */
  delete(id: string, filter: OwnerFilter): Promise<boolean>
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>
  /** Releases connections. The store is unusable afterwards. */
  close(): Promise<void>
}

/**
 * The database cannot be reached (connection refused or lost, disk unavailable, database closed). Answered as
 * 503 with `Retry-After` by Fastify's error handler, which sends `statusCode`, `code`, `message` and `headers`.
 */
export class StoreUnavailableError extends Error {
  readonly code = 'TODO_STORE_UNAVAILABLE'
  readonly statusCode = 503
  readonly headers: Readonly<Record<string, string>> = { 'retry-after': '5' }

  constructor(options: { cause?: unknown } = {}) {
    // The message reaches the caller: it must never carry driver text (host names, SQL).
    super('The database is unavailable; retry later', options)
    this.name = 'StoreUnavailableError'
  }
}

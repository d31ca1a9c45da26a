/**
 * The todo store: what the routes need from a database, whichever engine serves it.
 *
 * @packageDocumentation
 */
import type { RevocationFacts } from 'fastify-entra-id/core'
import type { RevocationKind } from './revoked-callers.js'

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

/** Options of {@link TodoStore.create}. */
export interface CreateOptions {
  /**
   * The request's `Idempotency-Key` (already parsed: 1 to 255 printable ASCII characters). A repeat by the same
   * owner with the same key and the same fields returns the first todo instead of creating another, until the key
   * expires; the same key with other fields rejects with {@link IdempotencyKeyReusedError}.
   */
  readonly idempotencyKey?: string
}

/** What {@link TodoStore.create} did: the todo, and whether it was created earlier under the same idempotency key. */
export interface Created {
  /** The todo as it was when created (a replay returns that first answer, even if the todo changed since). */
  readonly todo: Todo
  /** `true` when no todo was created: the idempotency key was used before by the same owner for the same fields. */
  readonly replayed: boolean
}

/** Fields to change; at least one is given. */
export interface TodoPatch {
  readonly title?: string
  readonly done?: boolean
}

/**
 * The store. Every write is one transaction, so a failure leaves nothing half-written, and a write the database
 * never confirmed was not committed, except when the connection is lost during the `COMMIT` itself (which no
 * client can tell apart; retrying with an idempotency key is safe even then). Methods reject with
 * {@link StoreUnavailableError} when the database cannot be reached or does not answer in time.
 */
export interface TodoStore {
  /** `sqlite` or `postgres`. */
  readonly engine: 'sqlite' | 'postgres'
  list(query: ListQuery): Promise<Page>
  /** The todo, or `null` when it does not exist or the filter hides it. */
  get(id: string, filter: OwnerFilter): Promise<Todo | null>
  /**
   * Creates a todo, or with `options.idempotencyKey` returns the one created earlier under that key. Rejects with
   * {@link IdempotencyKeyReusedError} (the key was used for other fields) or {@link IdempotencyKeyInUseError} (a
   * request with the key is still in progress).
   */
  create(owner: Owner, todo: NewTodo, options?: CreateOptions): Promise<Created>
  /** The updated todo, or `null` when it does not exist or the filter hides it. */
  update(id: string, filter: OwnerFilter, patch: TodoPatch): Promise<Todo | null>
  /** `true` when a todo was deleted. */
  delete(id: string, filter: OwnerFilter): Promise<boolean>
  /** Resolves when the database answers a trivial query. */
  ping(): Promise<void>
  /**
   * Whether any identifier of a verified token is on the operator's deny-list (`revoked_callers`), for the
   * plugin's `revocation` check. A store without one (a test's stand-in) revokes nothing.
   */
  isRevoked?(facts: RevocationFacts): Promise<boolean>
  /** Puts `value` on the deny-list under `kind` (`npm run revoke`). */
  revoke?(kind: RevocationKind, value: string, reason?: string): Promise<void>
  /** Releases connections. The store is unusable afterwards. */
  close(): Promise<void>
}

/**
 * What the store refuses, with the answer it calls for: a stable `code`, an HTTP `statusCode` and the response
 * `headers` (`Retry-After`), which Fastify's error handler sends. The message reaches the caller: it never carries
 * driver text (host names, SQL).
 */
export abstract class StoreError extends Error {
  readonly code: string
  readonly statusCode: number
  readonly headers: Readonly<Record<string, string>>

  protected constructor(code: string, statusCode: number, message: string, options: { cause?: unknown, headers?: Readonly<Record<string, string>> } = {}) {
    super(message, options.cause === undefined ? {} : { cause: options.cause })
    this.name = new.target.name
    this.code = code
    this.statusCode = statusCode
    this.headers = options.headers ?? {}
  }
}

/** 503 with `Retry-After`: the database cannot be reached (connection refused or lost, disk unavailable, closed). */
export class StoreUnavailableError extends StoreError {
  constructor(options: { cause?: unknown } = {}) {
    super('TODO_STORE_UNAVAILABLE', 503, 'The database is unavailable; retry later', { ...options, headers: { 'retry-after': '5' } })
  }
}

/**
 * 422: the caller already used this `Idempotency-Key` for a request with another body
 * (draft-ietf-httpapi-idempotency-key-header, section 2.7: "Idempotency-Key is already used").
 */
export class IdempotencyKeyReusedError extends StoreError {
  constructor() {
    super('TODO_IDEMPOTENCY_KEY_REUSED', 422, 'This Idempotency-Key was already used for a request with another body; use a new key for a new todo')
  }
}

/**
 * 409 with `Retry-After`: a request with this `Idempotency-Key` by the same caller is still in progress
 * (draft-ietf-httpapi-idempotency-key-header, section 2.7: "a request is outstanding"). Retrying after it ends
 * returns its answer.
 */
export class IdempotencyKeyInUseError extends StoreError {
  constructor(options: { cause?: unknown } = {}) {
    super('TODO_IDEMPOTENCY_KEY_IN_USE', 409, 'A request with this Idempotency-Key is still in progress; retry later to get its answer', { ...options, headers: { 'retry-after': '1' } })
  }
}

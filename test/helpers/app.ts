import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { startTestIssuer } from 'fastify-entra-id/testing'
import type { MintOptions, TestIssuer } from 'fastify-entra-id/testing'
import type { FastifyInstance } from 'fastify'
import { buildApp } from '../../src/app.js'
import { openPostgresStore } from '../../src/store/postgres-store.js'
import { openSqliteStore } from '../../src/store/sqlite-store.js'
import type { TodoStore } from '../../src/store/store.js'
import { dropSchema, freshSchema, postgresUrl } from './postgres.js'

/** The engines every store and route test runs against. */
export const ENGINES = ['sqlite', 'postgres'] as const
export type Engine = typeof ENGINES[number]

/** A temporary directory, removed by the returned function. */
export function tempDir(prefix = 'todo-test-'): { path: string, remove: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix))
  return { path, remove: () => { rmSync(path, { recursive: true, force: true }) } }
}

/** The environment of a service that trusts `issuer` as its Entra tenant. */
export function envFor(issuer: TestIssuer, dataDir: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    NODE_ENV: 'test',
    AZURE_TENANT_ID: issuer.tenantId,
    AZURE_CLIENT_ID: issuer.clientId,
    AZURE_AUTHORITY_HOST: issuer.url,
    DATA_DIR: dataDir,
    LOG_LEVEL: 'silent',
    ...extra
  }
}

/** A fresh, empty, migrated store of `engine`, and how to dispose of it. */
export async function openTestStore(engine: Engine, dataDir: string): Promise<{ store: TodoStore, dispose: () => Promise<void> }> {
  if (engine === 'sqlite') {
    const store = await openSqliteStore({ file: join(dataDir, `${freshSchema()}.sqlite`) })
    return { store, dispose: () => store.close() }
  }
  const url = postgresUrl()
  if (url === undefined) throw new Error('TEST_DATABASE_URL is not set')
  const schema = freshSchema()
  const store = await openPostgresStore({ connectionString: url, schema })
  return {
    store,
    dispose: async () => {
      await store.close()
      await dropSchema(url, schema)
    }
  }
}

/** Callers of the tests: one tenant, two users and an application, with tokens minted on demand. */
export class Callers {
  readonly issuer: TestIssuer
  readonly alice = '11111111-1111-4111-8111-111111111111'
  readonly bob = '22222222-2222-4222-8222-222222222222'
  readonly daemon = '33333333-3333-4333-8333-333333333333'

  constructor(issuer: TestIssuer) {
    this.issuer = issuer
  }

  /** A delegated token of `user` with `scopes`. */
  user(user: string, scopes: string[], options: MintOptions = {}): Promise<string> {
    return this.issuer.mint({ objectId: user, scopes, ...options })
  }

  /** An app-only token of the daemon application with `roles`. */
  app(roles: string[], options: MintOptions = {}): Promise<string> {
    return this.issuer.mint({ objectId: this.daemon, appOnly: true, roles, ...options })
  }
}

/** A running test: an issuer, an app injected into, its store, and clean-up. */
export interface Harness {
  readonly app: FastifyInstance
  readonly issuer: TestIssuer
  readonly callers: Callers
  readonly store: TodoStore
  close(): Promise<void>
}

/** Starts an issuer and the app over a fresh store of `engine`. */
export async function startHarness(engine: Engine, extraEnv: Record<string, string> = {}): Promise<Harness> {
  const dir = tempDir()
  const issuer = await startTestIssuer()
  const { store, dispose } = await openTestStore(engine, dir.path)
  const app = await buildApp({ env: envFor(issuer, dir.path, extraEnv), store })
  return {
    app,
    issuer,
    callers: new Callers(issuer),
    store,
    async close() {
      await app.close()
      await dispose()
      await issuer.close()
      dir.remove()
    }
  }
}

// The test kit both suites share; re-exported so that the sample's tests import their helpers from one place.
export { bearer } from '@fastify-entra-id/test-kit'

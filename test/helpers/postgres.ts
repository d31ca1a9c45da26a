import { randomBytes } from 'node:crypto'
import pg from 'pg'
import { isCi } from './ci.js'

/**
 * The PostgreSQL server of the tests: `TEST_DATABASE_URL`. Without it the PostgreSQL tests skip on a developer's
 * machine, and fail in CI (`CI` set), so CI can never pass with them silently skipped.
 */
export function postgresUrl(): string | undefined {
  const url = process.env.TEST_DATABASE_URL
  if (url !== undefined && url !== '') return url
  if (isCi()) throw new Error('TEST_DATABASE_URL is not set, and CI is: the PostgreSQL tests must run in CI (see .ci/run)')
  return undefined
}

/** The `skip` option of a PostgreSQL test: a reason to skip locally, `false` when it must run. */
export function skipWithoutPostgres(): string | false {
  return postgresUrl() === undefined ? 'TEST_DATABASE_URL is not set (PostgreSQL tests run in CI)' : false
}

/** A fresh schema name for one test file or test, so runs never see each other's rows. */
export function freshSchema(): string {
  return `test_${randomBytes(6).toString('hex')}`
}

/** Drops a schema made by a test, with everything in it. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`)
  } finally {
    await client.end()
  }
}

/** The URL with another host and port (through a proxy), keeping credentials and database. */
export function withHostPort(url: string, host: string, port: number): string {
  const u = new URL(url)
  u.hostname = host
  u.port = String(port)
  return u.toString()
}

// What the database-startup tests share: their log capture, the store's warnings, and a port nothing listens on.
import assert from 'node:assert/strict'
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { Signal } from '@fastify-entra-id/test-kit'

export interface LogLine { level: number, msg: string, [key: string]: unknown }

export const WARN = 40
export const INFO = 30

/**
 * Fastify's `logger: { stream }`: every JSON line the app logs, parsed. `written` is notified after each line, so
 * a test waits for a log line (a failed attempt, the connection made) rather than polling for it.
 */
export function captureLogs(): { lines: LogLine[], written: Signal, stream: { write: (line: string) => void } } {
  const lines: LogLine[] = []
  const written = new Signal()
  return { lines, written, stream: { write: (line: string) => { lines.push(JSON.parse(line) as LogLine); written.notify() } } }
}

/** The store plugin's warnings: one per failed attempt to open the database. */
export function warnings(lines: readonly LogLine[]): LogLine[] {
  return lines.filter((l) => l.level === WARN && l.msg.startsWith('database:'))
}

/** A loopback port that was open and is closed now: connecting to it is refused. */
export async function closedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => { resolve() }))
  return port
}

/** A single-line log message that names the setting and the target, and nothing of the credentials. */
export function assertSafeLine(msg: string, target: string, secrets: readonly string[]): void {
  assert.ok(!msg.includes('\n'), `one line: ${msg}`)
  assert.ok(msg.includes('DATABASE_URL'), `names DATABASE_URL: ${msg}`)
  assert.ok(msg.includes(`(${target})`), `names ${target}: ${msg}`)
  assert.doesNotMatch(msg, /postgres(?:ql)?:\/\/|\n\s+at /, msg)
  for (const secret of secrets) assert.ok(!msg.includes(secret), `leaks ${secret}: ${msg}`)
}

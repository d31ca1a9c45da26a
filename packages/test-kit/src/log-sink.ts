import { Writable } from 'node:stream'
import { Signal } from './signal.js'

/** What {@link logSink} returns: pino's destination and what was written to it. */
export interface LogSink {
  /** The destination to give pino (`logger: { stream }`). */
  readonly stream: Writable
  /** Notified on each write: wait on a log line with `written.until(...)`. */
  readonly written: Signal
  /** Everything written, as written. */
  readonly text: () => string
  /** Every line written, parsed. */
  readonly lines: () => Record<string, unknown>[]
}

/** A pino destination that keeps every line, for assertions on what was logged (and on what never is). */
export function logSink(): LogSink {
  const chunks: string[] = []
  const written = new Signal()
  const stream = new Writable({ write(chunk: Buffer, _encoding, callback) { chunks.push(chunk.toString()); callback(); written.notify() } })
  const text = (): string => chunks.join('')
  return { stream, written, text, lines: () => text().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>) }
}

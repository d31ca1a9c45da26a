import { writeSync } from 'node:fs'

/*
 * Start-up's own reports, made before or without the service's logger: one line on stderr, JSON in production
 * (the shape of the service's pino lines, which log collectors parse: `level`, `time` in milliseconds since the
 * epoch, the details, `msg`), plain text in development. Node.js built-ins only, and written synchronously: the
 * Node.js version check reports through this module before any dependency is loaded, and exits right after.
 */

/** pino's levels, so that a start-up line sorts with the service's own. */
const FATAL = 60
const WARN = 40

function writeLine(level: number, message: string, details: Record<string, unknown>, stack?: string): void {
  if (process.env.NODE_ENV === 'production') {
    writeSync(2, `${JSON.stringify({ level, time: Date.now(), ...details, ...(stack === undefined ? {} : { stack }), msg: message })}\n`)
  } else {
    writeSync(2, `${message}\n${stack === undefined ? '' : `${stack}\n`}`)
  }
}

/**
 * A failure to start, as one line (JSON in production, text in development), and exit code 1 once the process
 * ends. No stack: the cause is a setting or the environment, and the message names it; `LOG_LEVEL=debug` adds the
 * stack of `error`.
 */
export function reportStartFailure(message: string, details: Record<string, unknown> = {}, error?: unknown): void {
  const debug = ['debug', 'trace'].includes(process.env.LOG_LEVEL ?? '')
  writeLine(FATAL, message, details, debug && error instanceof Error ? error.stack : undefined)
  process.exitCode = 1
}

/** Something about the environment the service starts in anyway, as one line (JSON in production). */
export function reportStartWarning(message: string, details: Record<string, unknown> = {}): void {
  writeLine(WARN, message, details)
}

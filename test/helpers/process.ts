import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { Signal } from '@fastify-entra-id/test-kit'
import assert from 'node:assert/strict'
import type { LogLine } from './database-startup.js'

/** A child process whose output is collected, with waits on its output and its exit. */
export class Child {
  readonly process: ChildProcess
  stdout = ''
  stderr = ''
  /** The exit code, once the process has exited and its output streams have closed. */
  readonly exited: Promise<number | null>

  readonly #group: boolean
  /** Notified on every chunk of stdout and when the process has closed. */
  readonly #output = new Signal()
  /** The process exited and its output streams are closed: stdout holds everything it will ever print. */
  #closed = false

  /**
   * `group`: start the child in a process group of its own and signal the whole group, for commands such as
   * `npm start` whose own child (the service) outlives them when only they are signalled.
   */
  constructor(command: string, args: readonly string[], options: { cwd: string, env: NodeJS.ProcessEnv, group?: boolean }) {
    this.#group = options.group ?? false
    this.process = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'], detached: this.#group })
    this.process.stdout?.setEncoding('utf8').on('data', (chunk: string) => { this.stdout += chunk; this.#output.notify() })
    this.process.stderr?.setEncoding('utf8').on('data', (chunk: string) => { this.stderr += chunk })
    this.exited = new Promise((resolve) => {
      // On 'close', not 'exit': a test that reads stdout once the process has ended must see its last lines.
      this.process.on('close', (code) => { resolve(code) })
      // A child that cannot start (missing command or cwd) emits no exit: report it as one, with the reason.
      this.process.on('error', (error) => { this.stderr += `${error.message}\n`; resolve(127) })
    })
    // 'close', not 'exit': the last chunks of output may arrive after 'exit', and a line printed just before the
    // process ended must still be found. 'close' follows 'error' too (a process that could not start).
    this.process.on('close', () => { this.#closed = true; this.#output.notify() })
  }

  /**
   * Resolves with the first match of `pattern` in stdout; rejects if the process ends first or after `timeout` ms.
   * Stdout is matched again on each chunk it receives, not on a timer.
   */
  async waitFor(pattern: RegExp, timeout = 60_000): Promise<RegExpMatchArray> {
    const found: { match: RegExpExecArray | null } = { match: null }
    await this.#output.until(() => {
      found.match = pattern.exec(this.stdout)
      return found.match !== null || this.#closed
    }, timeout, () => `${String(pattern)}:\n${this.stdout}\n${this.stderr}`)
    const { match } = found
    if (match === null) {
      throw new Error(`the process exited (${String(this.process.exitCode ?? this.process.signalCode)}) before printing ${String(pattern)}:\n${this.stdout}\n${this.stderr}`)
    }
    return match
  }

  /** Sends `signal` and waits for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.process.exitCode === null && this.process.signalCode === null) {
      if (this.#group && this.process.pid !== undefined) process.kill(-this.process.pid, signal)
      else this.process.kill(signal)
    }
    return this.exited
  }
}

/** Runs a command to completion; rejects with its output when it fails. */
export async function run(command: string, args: readonly string[], options: { cwd: string, env?: NodeJS.ProcessEnv }): Promise<{ stdout: string, stderr: string }> {
  const child = new Child(command, args, { cwd: options.cwd, env: options.env ?? process.env })
  const code = await child.exited
  if (code !== 0) throw new Error(`${command} ${args.join(' ')} exited with ${String(code)}:\n${child.stdout}\n${child.stderr}`)
  return { stdout: child.stdout, stderr: child.stderr }
}

// The service's own variables, its telemetry's (Application Insights and the distro's switches, OpenTelemetry's,
// App Service's site name), and npm's (set when tests run under `npm test`, and read by child npm commands).
const SERVICE_VARIABLES = /^(AZURE_|AUTH_|DATABASE_URL|DATA_DIR|PORT|HOST|LOG_LEVEL|NODE_ENV|DEV_ISSUER_PORT|OPENAPI_|SHUTDOWN_|APPLICATIONINSIGHTS_|APPLICATION_INSIGHTS_|OTEL_|WEBSITE_|npm_(?!config_nodedir$))/

/**
 * The environment of a child service or command: this process's, without anything that would change the
 * service's configuration, plus `extra`. npm's native-addon setting (`npm_config_nodedir`) is kept.
 */
export function serviceEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !SERVICE_VARIABLES.test(name))), ...extra }
}

/**
 * The one line a production start failure writes on stderr, parsed: fails the test unless stderr holds exactly one
 * line of JSON, as log collectors expect of a service that could not start.
 */
export function onlyJsonLine(stderr: string): LogLine {
  const lines = stderr.trim().split('\n')
  assert.equal(lines.length, 1, stderr)
  return JSON.parse(lines[0] ?? '') as LogLine
}


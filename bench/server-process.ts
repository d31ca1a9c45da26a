// The orchestrator's handle on one server under test: a child process pinned to a core, reporting its CPU time
// over IPC, its peak RSS read from /proc.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { TokenCacheStats } from 'fastify-entra-id/core'
import type { ServerSpec } from './catalog.js'
import type { BenchServerConfig, ChildMessage, ParentMessage } from './servers/harness.js'

const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url))
const START_TIMEOUT_MS = 30_000
const STOP_TIMEOUT_MS = 5_000

/** CPU time and peak memory of a server process so far. */
export interface ProcessUsage {
  /** User + system CPU time of every thread of the process, in microseconds. */
  readonly cpuMicros: number
  /** User-space CPU time alone, in microseconds: kernel time left out. */
  readonly userMicros: number
  /** Peak resident set size (VmHWM), in bytes. */
  readonly peakRssBytes: number
  /** V8 heap in use, in bytes (after a full garbage collection when asked for one). */
  readonly heapUsedBytes: number
  /** The server's token-cache counters so far, `null` when it reports none (see `announce` in servers/harness.ts). */
  readonly tokenCache: TokenCacheStats | null
}

/** Where and how to start a server process. */
export interface StartOptions {
  /** Pin the process (all its threads) to this core with taskset; `null` to leave it unpinned. */
  readonly core: number | null
  /** Extra Node.js flags, e.g. `--cpu-prof`. */
  readonly nodeFlags?: readonly string[]
}

/** A running server under test. */
export class ServerProcess {
  readonly spec: ServerSpec
  readonly port: number
  /** `performance.now()` just before the process was spawned. */
  readonly spawnedAt: number
  /** `performance.now()` when the server said it listens. */
  readonly listeningAt: number
  readonly #child: ChildProcess
  #exited: Promise<void>

  private constructor(spec: ServerSpec, child: ChildProcess, port: number, spawnedAt: number, exited: Promise<void>) {
    this.spec = spec
    this.#child = child
    this.port = port
    this.spawnedAt = spawnedAt
    this.listeningAt = performance.now()
    this.#exited = exited
  }

  /** Spawns the server of `spec` and resolves once it listens. */
  static async start(spec: ServerSpec, config: BenchServerConfig, options: StartOptions): Promise<ServerProcess> {
    const build = spec.pluginBuild === undefined ? [] : ['--import', fileURLToPath(new URL('./servers/use-plugin-build.ts', import.meta.url))]
    const preloads = (spec.preloads ?? []).flatMap((name) => ['--import', fileURLToPath(new URL(`./servers/${name}.ts`, import.meta.url))])
    const nodeArgs = [...(options.nodeFlags ?? []), '--import', 'tsx', ...build, ...preloads, fileURLToPath(new URL(`./servers/${spec.file ?? spec.id}.ts`, import.meta.url))]
    const [command, args] = options.core === null
      ? [process.execPath, nodeArgs]
      : ['taskset', ['-c', String(options.core), process.execPath, ...nodeArgs]]
    const spawnedAt = performance.now()
    const child = spawn(command, args, {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      env: {
        ...process.env,
        NODE_ENV: 'production',
        BENCH_SERVER_CONFIG: JSON.stringify(config),
        BENCH_SERVER_ID: spec.id,
        ...(spec.pluginBuild === undefined ? {} : { BENCH_PLUGIN_BUILD: spec.pluginBuild.packageDir })
      }
    })
    const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve() }))
    const port = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => { fail(new Error(`bench: ${spec.id} did not listen within ${START_TIMEOUT_MS} ms`)) }, START_TIMEOUT_MS)
      const onMessage = (message: ChildMessage): void => {
        if (message.type !== 'listening') return
        clearTimeout(timer)
        child.off('message', onMessage)
        child.off('exit', onExit)
        resolve(message.port)
      }
      const onExit = (code: number | null): void => { fail(new Error(`bench: ${spec.id} exited with ${code ?? 'a signal'} before listening`)) }
      function fail(error: Error): void {
        clearTimeout(timer)
        child.kill('SIGKILL')
        reject(error)
      }
      child.on('message', onMessage)
      child.once('exit', onExit)
      child.once('error', (error) => { fail(error) })
    })
    return new ServerProcess(spec, child, port, spawnedAt, exited)
  }

  get pid(): number {
    return this.#child.pid ?? -1
  }

  /**
   * Asks the process for its CPU time and heap use (after a full garbage collection with `gc`, for a process
   * started with `--expose-gc`); reads its peak RSS.
   */
  async usage(gc = false): Promise<ProcessUsage> {
    const answer = await new Promise<Extract<ChildMessage, { type: 'usage' }>>((resolve, reject) => {
      const onMessage = (message: ChildMessage): void => {
        if (message.type !== 'usage') return
        this.#child.off('message', onMessage)
        resolve(message)
      }
      this.#child.on('message', onMessage)
      const question: ParentMessage = { type: 'usage', gc }
      this.#child.send(question, (error) => { if (error !== null) reject(error) })
    })
    return {
      cpuMicros: answer.cpuMicros,
      userMicros: answer.userMicros,
      peakRssBytes: (await this.#vmHwmBytes()) ?? answer.maxRssKiB * 1024,
      heapUsedBytes: answer.heapUsedBytes,
      tokenCache: answer.tokenCache
    }
  }

  /** Ends the process (it exits when its IPC channel closes) and waits for it. */
  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return
    if (this.#child.connected) this.#child.disconnect()
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), STOP_TIMEOUT_MS)
    await this.#exited
    clearTimeout(timer)
  }

  /** VmHWM from /proc/<pid>/status (Linux); `null` elsewhere. */
  async #vmHwmBytes(): Promise<number | null> {
    try {
      const status = await readFile(`/proc/${this.pid}/status`, 'utf8')
      const match = /^VmHWM:\s+(\d+)\s+kB$/m.exec(status)
      return match === null ? null : Number(match[1]) * 1024
    } catch {
      return null
    }
  }
}

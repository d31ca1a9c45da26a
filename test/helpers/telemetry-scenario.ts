/**
 * One run of the started service with telemetry on, shared by the telemetry tests: a production start against a
 * test issuer, a few requests (accepted, 401, 403, a token in the query string, a probe), SIGTERM, and what left
 * the process: the bytes the telemetry stand-ins received, every connection and name lookup the process made
 * (test/fixtures/egress-recorder.ts), and every module it resolved (test/fixtures/module-recorder.ts).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { startTestIssuer } from 'fastify-entra-id/testing'
import { tempDir } from './app.js'
import { REPO_ROOT, SERVER_ENTRY } from './paths.js'
import { Child, serviceEnv } from './process.js'

/** The requests a scenario sends, by what they show. */
export interface ScenarioRequests {
  /** `GET /api/todos` with a token holding Todo.Read: 200. */
  accepted: { status: number }
  /** `GET /api/todos` with an expired token: 401 (ENTRA_TOKEN_EXPIRED). */
  expired: { status: number }
  /** `GET /api/todos` with a token without Todo.Read: 403 (ENTRA_INSUFFICIENT_SCOPE). */
  forbidden: { status: number }
  /** `GET /api/todos?access_token=<token>` (a token in the query string is refused): 400. */
  queryToken: { status: number }
  /** `GET /no-such-route?access_token=<token>&code=<secret>`: 404 or 401. */
  unknownRoute: { status: number }
}

/** What a scenario left behind, for the assertions. */
export interface ScenarioResult {
  requests: ScenarioRequests
  /** The service's exit code after SIGTERM. */
  exitCode: number | null
  /** The service's output (JSON log lines). */
  stdout: string
  stderr: string
  /** Every token the scenario sent, whole. */
  tokens: string[]
  /** The secret sent in the query string (as `code`). */
  secrets: string[]
  /** The object ID of the caller of the accepted request (personal data: never sent by default). */
  oid: string
  tenantId: string
  /** The egress recorder's lines, parsed. */
  egress: Array<Record<string, unknown>>
  /** The URLs of every module the process resolved. */
  modules: string[]
}

/**
 * Starts the service with `telemetryEnv` (plus the egress and module recorders), sends the requests, stops it
 * with SIGTERM, and returns what it saw. The caller owns the stand-ins named in `telemetryEnv`.
 */
export async function runTelemetryScenario(telemetryEnv: Record<string, string>): Promise<ScenarioResult> {
  const dir = tempDir('todo-telemetry-')
  const issuer = await startTestIssuer()
  const egressLog = join(dir.path, 'egress.jsonl')
  const moduleLog = join(dir.path, 'modules.txt')
  const querySecret = `query-secret-${crypto.randomUUID()}`
  const env = serviceEnv({
    NODE_ENV: 'production', DATA_DIR: dir.path, PORT: '0', HOST: '127.0.0.1', SHUTDOWN_DRAIN_MS: '0',
    AZURE_TENANT_ID: issuer.tenantId, AZURE_CLIENT_ID: issuer.clientId, AZURE_AUTHORITY_HOST: issuer.url,
    EGRESS_LOG: egressLog, MODULE_LOG: moduleLog,
    ...telemetryEnv
  })
  const server = new Child(process.execPath, ['--import', 'tsx', '--import', './test/fixtures/egress-recorder.ts', '--import', './test/fixtures/module-recorder.ts', SERVER_ENTRY], { cwd: REPO_ROOT, env })
  try {
    const [, base] = await server.waitFor(/"msg":"Server listening at (http:\/\/127\.0\.0\.1:\d+)"/)
    const oid = '77777777-7777-4777-8777-777777777777'
    const read = await issuer.mint({ objectId: oid, scopes: ['Todo.Read'] })
    const expired = await issuer.mint({ objectId: oid, scopes: ['Todo.Read'], expiresIn: -3600 })
    const other = await issuer.mint({ objectId: oid, scopes: ['Other.Scope'] })
    const get = async (path: string, token?: string): Promise<{ status: number }> => {
      const response = await fetch(`${base}${path}`, token === undefined ? {} : { headers: { authorization: `Bearer ${token}` } })
      await response.arrayBuffer()
      return { status: response.status }
    }
    const requests: ScenarioRequests = {
      accepted: await get('/api/todos', read),
      expired: await get('/api/todos', expired),
      forbidden: await get('/api/todos', other),
      queryToken: await get(`/api/todos?access_token=${read}`),
      unknownRoute: await get(`/no-such-route?access_token=${read}&code=${querySecret}`)
    }
    await get('/health/ready')
    const exitCode = await server.stop('SIGTERM')
    return {
      requests, exitCode, stdout: server.stdout, stderr: server.stderr,
      tokens: [read, expired, other], secrets: [querySecret], oid, tenantId: issuer.tenantId,
      egress: readLines(egressLog).map((line) => JSON.parse(line) as Record<string, unknown>),
      modules: readLines(moduleLog)
    }
  } finally {
    await server.stop('SIGKILL')
    await issuer.close()
    dir.remove()
  }
}

function readLines(file: string): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((line) => line !== '')
  } catch {
    return []
  }
}

/** The status of each request, by name. */
export function statuses(run: ScenarioResult): Record<keyof ScenarioRequests, number> {
  const { accepted, expired, forbidden, queryToken, unknownRoute } = run.requests
  return { accepted: accepted.status, expired: expired.status, forbidden: forbidden.status, queryToken: queryToken.status, unknownRoute: unknownRoute.status }
}

/** The destinations in the egress recorder's lines that are not this machine's loopback. */
export function nonLoopback(egress: ReadonlyArray<Record<string, unknown>>): Array<Record<string, unknown>> {
  const loopback = (host: unknown): boolean => host === 'localhost' || host === '::1' || (typeof host === 'string' && /^127\./.test(host))
  return egress.filter((entry) => {
    if ('path' in entry) return false
    if ('lookup' in entry) return !loopback(entry.lookup)
    if ('connect' in entry) return !loopback(entry.connect)
    return !loopback(entry.host)
  })
}

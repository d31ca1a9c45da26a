/**
 * Runs the official MCP conformance suite (`@modelcontextprotocol/conformance`, its server scenarios) against the
 * sample's `/mcp`, all on loopback, and exits non-zero when a check fails. CI runs it (`.ci/run`);
 * `npm run conformance` runs it here.
 *
 * The suite takes only a URL and sends no token, so the service is reached through a loopback proxy that adds
 * `Authorization: Bearer <token>` (a user token with Todo.Read, minted by the fastify-entra-id/testing issuer the
 * service trusts) and passes every other header on as the suite sent it: `Host` and `Origin` included, or the
 * DNS-rebinding scenario would test the proxy. The proxy's own origin is the service's `MCP_ALLOWED_ORIGINS`, as a
 * reverse proxy's public origin would be.
 *
 * The scenarios are those that apply to a server with these capabilities (tools only, stateless, no server-sent
 * requests): see {@link SCENARIOS}. The suite (0.1) stops at revision 2025-11-25, so it talks to the server's
 * 2025-era fallback; what 2026-07-28 adds is tested in test/integration/mcp.test.ts.
 *
 * Options: `--output <dir>` keeps the suite's results (checks.json per scenario) there.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer, request as forward } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { startTestIssuer } from 'fastify-entra-id/testing'
import { buildApp } from '../src/app.js'

/**
 * The server scenarios that apply to this server. The others test what it has not, by design: resources, prompts,
 * completions and logging (`resources-*`, `prompts-*`, `completion-complete`, `logging-set-level`,
 * `tools-call-with-logging`); the suite's own fixture tools (`tools-call-*`, `json-schema-2020-12`,
 * `elicitation-*`), which a todo API does not have; server-sent requests (`tools-call-sampling`,
 * `tools-call-elicitation`) and SSE streams, resumption and progress (`server-sse-*`, `tools-call-with-progress`),
 * which a stateless JSON server does not make, and which revision 2026-07-28 removed or replaced.
 */
export const SCENARIOS = ['server-initialize', 'ping', 'tools-list', 'dns-rebinding-protection'] as const

/** One check of the suite's results. */
interface Check { readonly id: string, readonly status: string, readonly errorMessage?: string }

const { values } = parseArgs({ options: { output: { type: 'string' } } })
const CLI = join(import.meta.dirname, '..', 'node_modules', '@modelcontextprotocol', 'conformance', 'dist', 'index.js')

const dir = mkdtempSync(join(tmpdir(), 'mcp-conformance-'))
const output = values.output ?? join(dir, 'results')
const issuer = await startTestIssuer()
let target = 0
let token = ''

// The proxy, first: its origin is the service's allowed origin.
const proxy = createServer((req: IncomingMessage, res: ServerResponse) => {
  const upstream = forward({ host: '127.0.0.1', port: target, method: req.method, path: req.url, headers: { ...req.headers, authorization: `Bearer ${token}` } }, (answer) => {
    res.writeHead(answer.statusCode ?? 502, answer.headers)
    answer.pipe(res)
  })
  upstream.on('error', () => { res.destroy() })
  req.pipe(upstream)
})
await new Promise<void>((resolve) => { proxy.listen(0, '127.0.0.1', resolve) })
const proxyPort = (proxy.address() as AddressInfo).port

const app = await buildApp({
  env: {
    NODE_ENV: 'test',
    AZURE_TENANT_ID: issuer.tenantId,
    AZURE_CLIENT_ID: issuer.clientId,
    AZURE_AUTHORITY_HOST: issuer.url,
    DATA_DIR: dir,
    LOG_LEVEL: 'warn',
    MCP_ALLOWED_ORIGINS: `http://127.0.0.1:${String(proxyPort)}, http://localhost:${String(proxyPort)}`
  }
})
target = Number(new URL(await app.listen({ host: '127.0.0.1', port: 0 })).port)
token = await issuer.mint({ objectId: '11111111-1111-4111-8111-111111111111', scopes: ['Todo.Read'] })
const url = `http://127.0.0.1:${String(proxyPort)}/mcp`

/** Runs one scenario with the suite's CLI; resolves with its exit code. */
function run(scenario: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, 'server', '--url', url, '--scenario', scenario, '--output-dir', join(output, scenario)], { stdio: ['ignore', 'inherit', 'inherit'] })
    child.on('error', reject)
    child.on('exit', (code) => { resolve(code ?? 1) })
  })
}

/** Every check the suite wrote under `folder`. */
function checksIn(folder: string): Check[] {
  let found: Check[] = []
  for (const entry of readdirSync(folder)) {
    const path = join(folder, entry)
    if (statSync(path).isDirectory()) found = found.concat(checksIn(path))
    else if (entry === 'checks.json') found = found.concat(JSON.parse(readFileSync(path, 'utf8')) as Check[])
  }
  return found
}

let failed = 0
const rows: string[] = []
try {
  process.stdout.write(`MCP conformance suite, server scenarios, against ${url} (a loopback proxy to the sample's /mcp)\n`)
  for (const scenario of SCENARIOS) {
    const code = await run(scenario)
    const checks = checksIn(join(output, scenario)).filter((check) => check.status !== 'INFO')
    const bad = checks.filter((check) => check.status === 'FAILURE')
    if (code !== 0 || bad.length > 0) failed++
    rows.push(`| ${scenario} | ${checks.map((check) => `${check.id}: ${check.status}`).join(', ')} | ${code === 0 && bad.length === 0 ? 'pass' : 'FAIL'} |`)
  }
} finally {
  await app.close()
  await new Promise((resolve) => { proxy.close(resolve) })
  await issuer.close()
  if (values.output === undefined) rmSync(dir, { recursive: true, force: true })
}
process.stdout.write(`\n| scenario | checks | result |\n|---|---|---|\n${rows.join('\n')}\n`)
process.exitCode = failed === 0 ? 0 : 1

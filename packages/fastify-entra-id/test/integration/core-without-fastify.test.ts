import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

// The framework-free core, as built and shipped (dist/), loaded in a process where Fastify, its plugins and
// msal-node cannot be resolved: what a node:http server, another framework or an MCP server's verifier gets.
const DIST = new URL('../../dist/', import.meta.url)

// A resolve hook that answers every framework package as npm would if it were not installed.
const HIDE_FRAMEWORKS = `
import { register } from 'node:module'
register('data:text/javascript,' + encodeURIComponent(\`
  const hidden = /^(fastify|fastify-plugin|@fastify\\\\/.*|@azure\\\\/msal-node)(\\\\/.*)?$/
  export async function resolve(specifier, context, next) {
    if (hidden.test(specifier)) {
      throw Object.assign(new Error('Cannot find package ' + specifier), { code: 'ERR_MODULE_NOT_FOUND' })
    }
    return next(specifier, context)
  }
\`))
`

// Verifies a valid token, refuses a forged one and a missing one, and renders their challenges: the core's jobs.
const PROGRAM = `
import { EntraAuthError, EntraTokenVerifier, bearerChallenge, bearerTokenFromHeader, readBearerToken } from ${JSON.stringify(new URL('core/index.js', DIST).href)}
import { startTestIssuer } from ${JSON.stringify(new URL('testing/index.js', DIST).href)}

const resolvable = await import('fastify').then(() => true, () => false)
const issuer = await startTestIssuer()
const verifier = EntraTokenVerifier.create({ tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url })
try {
  await verifier.hydrate()
  const token = await issuer.mint({ scopes: ['Todo.Read'] })
  const caller = await verifier.verify(readBearerToken({ rawHeaders: ['Authorization', 'Bearer ' + token] }))
  const refusal = async (work) => {
    try { await work(); return 'accepted' } catch (error) {
      if (!(error instanceof EntraAuthError)) throw error
      return { status: error.statusCode, code: error.code, challenge: error.headers['www-authenticate'] }
    }
  }
  const [header, payload] = token.split('.')
  console.log(JSON.stringify({
    resolvable,
    caller: { objectId: caller.objectId, scopes: [...caller.scopes] },
    forged: await refusal(() => verifier.verify(bearerTokenFromHeader('Bearer ' + header + '.' + payload + '.' + 'A'.repeat(342)))),
    missing: await refusal(() => bearerTokenFromHeader(undefined)),
    rendered: bearerChallenge('todo', { error: 'insufficient_scope', scope: 'Todo.Write' })
  }))
} finally {
  verifier.close()
  await issuer.close()
}
`

describe('the framework-free core (fastify-entra-id/core)', () => {
  it('verifies, refuses and renders challenges in a process where Fastify and msal-node cannot be resolved', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'core-without-fastify-'))
    try {
      writeFileSync(join(dir, 'hide-frameworks.mjs'), HIDE_FRAMEWORKS)
      writeFileSync(join(dir, 'program.mjs'), PROGRAM)
      const output = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['--import', join(dir, 'hide-frameworks.mjs'), join(dir, 'program.mjs')], { cwd: fileURLToPath(DIST), timeout: 30_000 },
          (error, stdout, stderr) => { if (error) reject(new Error(`${error.message}\n${stderr}`)); else resolve(stdout) })
      })
      const result = JSON.parse(output) as { resolvable: boolean, caller: { objectId: string, scopes: string[] }, forged: unknown, missing: unknown, rendered: string }
      assert.equal(result.resolvable, false, 'the hook hides Fastify from the program')
      assert.deepEqual(result.caller.scopes, ['Todo.Read'])
      assert.match(result.caller.objectId, /^[0-9a-f-]{36}$/)
      assert.deepEqual(result.forged, { status: 401, code: 'ENTRA_TOKEN_INVALID_SIGNATURE', challenge: 'Bearer realm="api", error="invalid_token", error_description="The token signature is invalid"' })
      assert.deepEqual(result.missing, { status: 401, code: 'ENTRA_TOKEN_MISSING', challenge: 'Bearer realm="api"' })
      assert.equal(result.rendered, 'Bearer realm="todo", error="insufficient_scope", scope="Todo.Write"')
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })
})

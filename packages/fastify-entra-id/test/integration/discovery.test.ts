import { describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { DiscoveryError, EntraTokenVerifier, KeysUnavailableError } from '../../src/core/index.js'
import type { LoadAttempt } from '../../src/core/index.js'
import { Signal, bearer, buildApp, logSink, withIssuer } from '../helpers.js'

const tenantId = 'contoso-typo.onmicrosoft.com'
const clientId = '3a691ed5-bdea-43b1-be30-dcee49f19605'

/** What Entra answers `GET /contoso-typo.onmicrosoft.com/v2.0/.well-known/openid-configuration` with. */
const unknownTenant = JSON.stringify({
  error: 'invalid_tenant',
  error_description: `AADSTS90002: Tenant '${tenantId}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant.\r\nTrace ID: 0b5a2f1e-4c1d-4f6e-9d3b-7a1c2e3f4a5b\r\nCorrelation ID: 6f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f\r\nTimestamp: 2026-12-01 10:00:00Z`,
  error_codes: [90002],
  timestamp: '2026-12-01 10:00:00Z',
  trace_id: '0b5a2f1e-4c1d-4f6e-9d3b-7a1c2e3f4a5b',
  correlation_id: '6f1e2d3c-4b5a-4968-8776-5a4b3c2d1e0f',
  error_uri: 'https://login.microsoftonline.com/error?code=90002'
})

type Handler = (req: IncomingMessage, res: ServerResponse) => void

/** An HTTP server on loopback whose answers the test changes as it goes. */
async function serve(handler: Handler): Promise<{ url: string, answer: (next: Handler) => void, close: () => Promise<void> }> {
  let current = handler
  const server = createServer((req, res) => { current(req, res) })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    answer: (next) => { current = next },
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => { resolve() }) })
  }
}

const answer = (status: number, body: string, type = 'application/json; charset=utf-8'): Handler => (_req, res) => {
  res.writeHead(status, { 'content-type': type }).end(body)
}

/** A verifier against `url` that records every failed attempt; retries every 50 ms. */
function verifierFor(url: string, extra: { onLoad?: (success: { attempts: number }) => void } = {}): { verifier: EntraTokenVerifier, failures: [Error, LoadAttempt][] } {
  const failures: [Error, LoadAttempt][] = []
  const verifier = EntraTokenVerifier.create({
    tenantId, clientId, authorityHost: url, tokenVersions: [2], cooldownDuration: 50,
    onLoadError: (error, attempt) => { failures.push([error, attempt]) },
    ...extra
  })
  return { verifier, failures }
}

/** The DiscoveryError behind a failed hydrate. */
async function discoveryFailure(verifier: EntraTokenVerifier): Promise<DiscoveryError> {
  let failure: unknown
  await assert.rejects(verifier.hydrate(), (error: unknown) => {
    failure = error instanceof KeysUnavailableError ? error.cause : error
    return error instanceof KeysUnavailableError
  })
  assert.ok(failure instanceof DiscoveryError, `expected a DiscoveryError cause, got ${String(failure)}`)
  return failure
}

describe('discovery refused by the identity provider', () => {
  it('an unknown tenant (HTTP 400, AADSTS90002) is a configuration error: Entra\'s code and first sentence, tenantId to check', async () => {
    const server = await serve(answer(400, unknownTenant))
    const { verifier, failures } = verifierFor(server.url)
    try {
      const error = await discoveryFailure(verifier)
      assert.equal(error.code, 'ENTRA_DISCOVERY_REJECTED')
      assert.equal(error.status, 400)
      assert.deepEqual(error.options, ['tenantId', 'authorityHost'])
      assert.deepEqual(error.providerError, {
        error: 'invalid_tenant',
        aadsts: 'AADSTS90002',
        description: `AADSTS90002: Tenant '${tenantId}' not found.`
      })
      assert.equal(error.message, `Discovery document ${server.url}/${tenantId}/v2.0/.well-known/openid-configuration answered HTTP 400: invalid_tenant: AADSTS90002: Tenant '${tenantId}' not found.`)
      assert.equal(error.stack, `DiscoveryError: ${error.message}`, 'no frames: the message says it all')
      assert.equal(verifier.isReady, false)
    } finally {
      verifier.close()
      await server.close()
    }
    assert.equal(failures.length >= 1, true)
    assert.deepEqual(failures[0]?.[1], { attempt: 1, retryInMs: 50 })
  })

  it('a wrong authority host or path (HTTP 404) points at authorityHost first, and a body that is not JSON is tolerated', async () => {
    const server = await serve(answer(404, '<html><body>Not Found</body></html>', 'text/html'))
    const { verifier } = verifierFor(server.url)
    try {
      const error = await discoveryFailure(verifier)
      assert.equal(error.code, 'ENTRA_DISCOVERY_REJECTED')
      assert.deepEqual(error.options, ['authorityHost', 'tenantId'])
      assert.equal(error.providerError, undefined)
      assert.match(error.message, /answered HTTP 404$/)
    } finally {
      verifier.close()
      await server.close()
    }
  })

  it('keeps at most 300 printable characters of a description without a sentence end, and reads no more than 16 KiB of an error', async () => {
    const server = await serve(answer(400, JSON.stringify({ error: 'invalid_request', error_description: `AADSTS900023\u001b[31m ${'x'.repeat(400)}` })))
    const { verifier } = verifierFor(server.url)
    try {
      const { providerError } = await discoveryFailure(verifier)
      assert.equal(providerError?.aadsts, 'AADSTS900023')
      assert.equal(providerError.description?.length, 300)
      assert.match(providerError.description ?? '', /^AADSTS900023 \[31m x+…$/)
      server.answer(answer(400, JSON.stringify({ error: 'invalid_tenant', padding: 'x'.repeat(20 * 1024) })))
      const oversized = await discoveryFailure(verifier)
      assert.equal(oversized.code, 'ENTRA_DISCOVERY_REJECTED')
      assert.equal(oversized.providerError, undefined, 'an error body over 16 KiB is not parsed')
    } finally {
      verifier.close()
      await server.close()
    }
  })

  it('a 5xx is an outage, not a configuration error: no option to check, what the provider said kept', async () => {
    const server = await serve(answer(503, JSON.stringify({ error: 'temporarily_unavailable', error_description: 'AADSTS90033: A transient error has occurred. Please try again.', error_codes: [90033] })))
    const { verifier } = verifierFor(server.url)
    try {
      const error = await discoveryFailure(verifier)
      assert.equal(error.code, 'ENTRA_DISCOVERY_FAILED')
      assert.equal(error.status, 503)
      assert.deepEqual(error.options, [])
      assert.equal(error.providerError?.description, 'AADSTS90033: A transient error has occurred.')
    } finally {
      verifier.close()
      await server.close()
    }
  })

  it('reports every failed attempt with its backoff, answers 503 with the failure as cause meanwhile, and reports the recovery once', () => withIssuer(async (issuer) => {
    // Entra refuses until the tenant is "fixed"; then discovery is the test issuer's.
    const server = await serve(answer(400, unknownTenant))
    const loads: { attempts: number }[] = []
    const failures: [Error, LoadAttempt][] = []
    const reported = new Signal()
    const verifier = EntraTokenVerifier.create({
      tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: server.url, tokenVersions: [2], cooldownDuration: 50,
      onLoadError: (error, attempt) => { failures.push([error, attempt]); reported.notify() },
      onLoad: (success) => { loads.push(success); reported.notify() }
    })
    try {
      await assert.rejects(verifier.hydrate(), KeysUnavailableError)
      await reported.until(() => failures.length >= 3)
      assert.deepEqual(failures.slice(0, 3).map(([, attempt]) => attempt.attempt), [1, 2, 3])
      assert.ok(failures.every(([error, attempt]) => error instanceof DiscoveryError && error.code === 'ENTRA_DISCOVERY_REJECTED' && attempt.retryInMs === 50))

      const token = await issuer.mint({ scopes: ['Todo.Read'] })
      const refused = await verifier.verify(token).then(() => null, (error: unknown) => error)
      assert.ok(refused instanceof KeysUnavailableError, 'a 503 while keys are unavailable')
      assert.equal(refused.message, 'The identity provider\'s signing keys are unavailable; retry later')
      assert.ok(refused.cause instanceof DiscoveryError, 'the 503 carries the reason, for logs')

      server.answer((req, res) => {
        void fetch(`${issuer.url}${req.url ?? '/'}`).then(async (upstream) => {
          res.writeHead(upstream.status, { 'content-type': 'application/json' }).end(await upstream.text())
        })
      })
      await reported.until(() => verifier.isReady)
      assert.deepEqual(loads, [{ attempts: failures.length + 1 }])
      assert.equal((await verifier.verify(token)).tenantId, issuer.tenantId)
    } finally {
      verifier.close()
      await server.close()
    }
  }))

  it('a listener that throws breaks neither the failure nor the recovery', () => withIssuer(async (issuer) => {
    issuer.setBehaviour('http-500')
    const reported = new Signal()
    const verifier = EntraTokenVerifier.create({
      tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, cooldownDuration: 50,
      onLoadError: () => { reported.notify(); throw new Error('logger down') },
      onLoad: () => { reported.notify(); throw new Error('logger down') }
    })
    try {
      await assert.rejects(verifier.hydrate(), KeysUnavailableError)
      issuer.setBehaviour('normal')
      // The listener ran and threw; a retry still came, and succeeded.
      await reported.until(() => verifier.isReady)
    } finally {
      verifier.close()
    }
  }))
})

describe('the plugin logs discovery failures', () => {
  it('warns on every attempt that a refused discovery is a configuration error, naming the settings and what Entra said; the 503 says none of it', () => withIssuer(async (issuer) => {
    const server = await serve(answer(400, unknownTenant))
    const sink = logSink()
    const app = await buildApp(issuer, {
      authorityHost: server.url,
      tenantId,
      cooldownDuration: 50,
      settingName: (option) => ({ tenantId: 'TENANT_SETTING', authorityHost: 'HOST_SETTING' })[option] ?? option,
      fastify: { logger: { level: 'info', stream: sink.stream } }
    })
    try {
      await app.ready()
      const warnings = () => sink.lines().filter((l) => l.level === 40)
      await sink.written.until(() => warnings().length >= 2)
      for (const [i, line] of warnings().slice(0, 2).entries()) {
        assert.equal(line.attempt, i + 1)
        assert.equal(line.retryInMs, 50)
        assert.deepEqual(line.check, ['TENANT_SETTING', 'HOST_SETTING'])
        assert.equal((line.err as { code?: unknown }).code, 'ENTRA_DISCOVERY_REJECTED')
        assert.equal(line.msg, `entra-id: configuration error, check TENANT_SETTING, HOST_SETTING: Discovery document ${server.url}/${tenantId}/v2.0/.well-known/openid-configuration answered HTTP 400: invalid_tenant: AADSTS90002: Tenant '${tenantId}' not found. Protected routes answer 503; attempt ${i + 1} failed, next in 50 ms`)
        assert.ok(!JSON.stringify(line).includes('    at '), 'no stack frames')
      }
      assert.equal(app.entraId.isReady(), false)

      const response = await app.inject({ url: '/me', headers: bearer(await issuer.mint({ scopes: ['Todo.Read'] })) })
      assert.equal(response.statusCode, 503)
      assert.match(String(response.headers['retry-after']), /^[1-9]\d*$/)
      for (const secret of ['AADSTS', 'invalid_tenant', tenantId, server.url]) {
        assert.ok(!response.body.includes(secret), `the 503 body does not tell the caller ${secret}`)
      }
    } finally {
      await app.close()
      await server.close()
    }
  }))

  it('warns on every failed attempt during an outage, then says once that the keys loaded', () => withIssuer(async (issuer) => {
    issuer.setBehaviour('down')
    const sink = logSink()
    const app = await buildApp(issuer, { cooldownDuration: 50, fastify: { logger: { level: 'info', stream: sink.stream } } })
    try {
      await app.ready()
      const warnings = () => sink.lines().filter((l) => l.level === 40)
      await sink.written.until(() => warnings().length >= 2)
      const [first, second] = warnings()
      assert.deepEqual([first?.attempt, second?.attempt], [1, 2])
      assert.equal(first?.check, undefined, 'an outage names no setting')
      assert.match(String(first?.msg), /^entra-id: signing keys could not be loaded: Discovery document .* could not be fetched\. Protected routes answer 503; attempt 1 failed, next in 50 ms$/)

      issuer.setBehaviour('normal')
      await sink.written.until(() => app.entraId.isReady())
      const loaded = sink.lines().filter((l) => typeof l.msg === 'string' && l.msg.startsWith('entra-id: signing keys loaded'))
      assert.equal(loaded.length, 1)
      assert.equal(loaded[0]?.level, 30)
      assert.match(String(loaded[0]?.msg), /^entra-id: signing keys loaded after \d+ attempts; protected routes answer again$/)
    } finally {
      await app.close()
    }
  }))
})

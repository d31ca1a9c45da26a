import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { X509Certificate } from 'node:crypto'
import { request as httpsRequest } from 'node:https'
import type { AddressInfo } from 'node:net'
import Fastify from 'fastify'
import type { FastifyInstance, FastifyServerOptions } from 'fastify'
import { fastifyEntraId } from '../../src/index.js'
import type { EntraIdPluginOptions } from '../../src/index.js'
import { certificateThumbprint, checkCertificateBinding } from '../../src/core/index.js'
import { selfSignedCertificate, startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { EntraConfigError } from '../../src/index.js'
import { outcome } from '../helpers.js'

// Certificate-bound access tokens (RFC 8705 §3): a token whose cnf claim carries x5t#S256 is valid only over a
// connection authenticated with that certificate, the app's own mutual TLS or a trusted proxy's forwarded header.

const server = selfSignedCertificate()
const clientA = selfSignedCertificate('client-a')
const clientB = selfSignedCertificate('client-b')
const derOf = (pem: string): Buffer => new X509Certificate(pem).raw
const thumbprintA = certificateThumbprint(derOf(clientA.cert))

const challenge = (description: string, error = 'invalid_token'): string =>
  `Bearer realm="api", error="${error}", error_description="${description}"`
const MISSING = challenge('The token is bound to a client certificate (cnf x5t#S256, RFC 8705) but the connection presented none: send it over mutual TLS with the certificate the token was issued for')
const MISMATCH = challenge('The token is bound to another client certificate than the one this connection presented (cnf x5t#S256, RFC 8705): send it over mutual TLS with the certificate the token was issued for')
const NOT_BOUND = challenge('This API accepts only certificate-bound tokens (RFC 8705): request the token with the client\'s certificate (mTLS proof of possession) and send it over mutual TLS with that certificate')
const ok = { status: 200, code: undefined, challenge: undefined }

async function appWith(issuer: TestIssuer, certificateBinding: EntraIdPluginOptions['certificateBinding'], fastify: object = {}): Promise<FastifyInstance> {
  // `https` options type a server of another kind; what the tests read (inject, server.address()) is the same.
  const app = Fastify(fastify as FastifyServerOptions)
  await app.register(fastifyEntraId, { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url, certificateBinding })
  app.get('/me', { onRequest: app.entraId.authenticate }, (request) => ({ oid: request.auth?.objectId }))
  await app.ready()
  return app
}

describe('certificate-bound tokens over the application\'s own mutual TLS', () => {
  let issuer: TestIssuer
  let checked: FastifyInstance
  let required: FastifyInstance
  let ignored: FastifyInstance
  let boundToA: string
  let unbound: string
  const tls = { https: { key: server.key, cert: server.cert, requestCert: true, rejectUnauthorized: false } }

  before(async () => {
    issuer = await startTestIssuer()
    checked = await appWith(issuer, { mode: 'checked' }, tls)
    required = await appWith(issuer, { mode: 'required' }, tls)
    ignored = await appWith(issuer, { mode: 'ignored' }, tls)
    for (const app of [checked, required, ignored]) await app.listen({ host: '127.0.0.1', port: 0 })
    boundToA = await issuer.mint({ scopes: ['Todo.Read'], claims: { cnf: { 'x5t#S256': thumbprintA } } })
    unbound = await issuer.mint({ scopes: ['Todo.Read'] })
  })
  after(async () => {
    for (const app of [checked, required, ignored]) await app.close()
    await issuer.close()
  })

  /** GET /me over https, with the client certificate `client` (none when undefined). */
  async function call(app: FastifyInstance, token: string, client?: { key: string, cert: string }): Promise<ReturnType<typeof outcome>> {
    const { port } = app.server.address() as AddressInfo
    return new Promise((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, path: '/me', ca: server.cert, headers: { authorization: `Bearer ${token}` }, ...client }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (chunk: string) => { body += chunk })
        res.on('end', () => {
          resolve(outcome({ statusCode: res.statusCode ?? 0, headers: res.headers, json: () => JSON.parse(body) as unknown }))
        })
      })
      req.on('error', reject)
      req.end()
    })
  }

  it('accepts a bound token over a connection authenticated with its certificate', async () => {
    assert.deepEqual(await call(checked, boundToA, clientA), ok)
    assert.deepEqual(await call(required, boundToA, clientA), ok)
  })

  it('refuses a bound token over a connection authenticated with another certificate', async () => {
    assert.deepEqual(await call(checked, boundToA, clientB), { status: 401, code: 'ENTRA_TOKEN_CERTIFICATE_MISMATCH', challenge: MISMATCH })
  })

  it('refuses a bound token over a connection without a client certificate', async () => {
    assert.deepEqual(await call(checked, boundToA), { status: 401, code: 'ENTRA_TOKEN_CERTIFICATE_MISSING', challenge: MISSING })
  })

  it('in checked mode, lets an unbound token pass, with or without a certificate', async () => {
    assert.deepEqual(await call(checked, unbound), ok)
    assert.deepEqual(await call(checked, unbound, clientB), ok)
  })

  it('in required mode, refuses an unbound token even over mutual TLS', async () => {
    assert.deepEqual(await call(required, unbound, clientA), { status: 401, code: 'ENTRA_TOKEN_NOT_CERTIFICATE_BOUND', challenge: NOT_BOUND })
  })

  it('checks a cached token again on every connection (the binding is the connection\'s, not the token\'s)', async () => {
    assert.deepEqual(await call(checked, boundToA, clientA), ok)
    assert.deepEqual(await call(checked, boundToA, clientB), { status: 401, code: 'ENTRA_TOKEN_CERTIFICATE_MISMATCH', challenge: MISMATCH })
  })

  it('in ignored mode (the default), does not read cnf', async () => {
    assert.deepEqual(await call(ignored, boundToA), ok)
  })

  it('refuses a token whose cnf is malformed rather than reading it as unbound', async () => {
    for (const cnf of ['x', { 'x5t#S256': 'not-a-thumbprint' }]) {
      const token = await issuer.mint({ scopes: ['Todo.Read'], claims: { cnf } })
      const answer = await call(checked, token, clientA)
      assert.equal(answer.status, 401)
      assert.equal(answer.code, 'ENTRA_TOKEN_INVALID_CLAIMS')
    }
  })
})

describe('certificate-bound tokens behind a TLS-terminating proxy (forwarded certificate header)', () => {
  let issuer: TestIssuer
  let boundToA: string
  let unbound: string
  const apps: FastifyInstance[] = []
  const base64Der = (pem: string): string => derOf(pem).toString('base64')

  before(async () => {
    issuer = await startTestIssuer()
    boundToA = await issuer.mint({ scopes: ['Todo.Read'], claims: { cnf: { 'x5t#S256': thumbprintA } } })
    unbound = await issuer.mint({ scopes: ['Todo.Read'] })
  })
  after(async () => {
    for (const app of apps) await app.close()
    await issuer.close()
  })

  async function behind(trustProxy: FastifyServerOptions['trustProxy'], header: { name: string, format: 'base64-der' | 'url-encoded-pem' | 'pem' }, mode: 'checked' | 'required' = 'checked'): Promise<FastifyInstance> {
    const app = await appWith(issuer, { mode, forwardedHeader: header }, trustProxy === undefined ? {} : { trustProxy })
    apps.push(app)
    return app
  }
  // app.inject connects from 127.0.0.1: trusted when trustProxy names it, an untrusted peer otherwise.
  const call = async (app: FastifyInstance, token: string, headers: Record<string, string> = {}): Promise<ReturnType<typeof outcome>> =>
    outcome(await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}`, ...headers } }))

  it('Azure App Service (X-ARR-ClientCert, base64 DER): the right certificate passes, another is refused', async () => {
    const app = await behind('127.0.0.1', { name: 'X-ARR-ClientCert', format: 'base64-der' })
    assert.deepEqual(await call(app, boundToA, { 'x-arr-clientcert': base64Der(clientA.cert) }), ok)
    assert.deepEqual(await call(app, boundToA, { 'x-arr-clientcert': base64Der(clientB.cert) }), { status: 401, code: 'ENTRA_TOKEN_CERTIFICATE_MISMATCH', challenge: MISMATCH })
    assert.deepEqual(await call(app, boundToA), { status: 401, code: 'ENTRA_TOKEN_CERTIFICATE_MISSING', challenge: MISSING })
  })

  it('ingress-nginx (ssl-client-cert, URL-encoded PEM) and Application Gateway (PEM, line breaks as spaces)', async () => {
    const nginx = await behind(true, { name: 'ssl-client-cert', format: 'url-encoded-pem' })
    assert.deepEqual(await call(nginx, boundToA, { 'ssl-client-cert': encodeURIComponent(clientA.cert) }), ok)
    assert.deepEqual(await call(nginx, boundToA, { 'ssl-client-cert': encodeURIComponent(clientB.cert) }), { status: 401, code: 'ENTRA_TOKEN_CERTIFICATE_MISMATCH', challenge: MISMATCH })
    const gateway = await behind(['127.0.0.1'], { name: 'x-client-cert', format: 'pem' })
    assert.deepEqual(await call(gateway, boundToA, { 'x-client-cert': clientA.cert.replace(/\n/g, ' ') }), ok)
  })

  it('ignores a forged header from a peer trustProxy does not trust: the right certificate in it is not believed', async () => {
    const forged = { 'x-arr-clientcert': base64Der(clientA.cert) }
    for (const trustProxy of [undefined, false, '10.0.0.1', ['10.0.0.0/8'], (address: string) => address === '10.0.0.1']) {
      const app = await behind(trustProxy, { name: 'x-arr-clientcert', format: 'base64-der' })
      assert.deepEqual(await call(app, boundToA, forged), { status: 401, code: 'ENTRA_TOKEN_CERTIFICATE_MISSING', challenge: MISSING }, `trustProxy ${String(trustProxy)}`)
    }
  })

  it('refuses a malformed header with a 400, never a 5xx', async () => {
    const azure = await behind('127.0.0.1', { name: 'x-arr-clientcert', format: 'base64-der' })
    const nginx = await behind('127.0.0.1', { name: 'ssl-client-cert', format: 'url-encoded-pem' })
    const cases: Array<[FastifyInstance, string, string]> = [
      [azure, 'x-arr-clientcert', 'not base64!'],
      [azure, 'x-arr-clientcert', Buffer.from('not a certificate').toString('base64')],
      [azure, 'x-arr-clientcert', `${base64Der(clientA.cert)}, ${base64Der(clientB.cert)}`],
      [nginx, 'ssl-client-cert', '%E0%A4%A'],
      [nginx, 'ssl-client-cert', encodeURIComponent('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----')],
      [nginx, 'ssl-client-cert', 'plain text']
    ]
    for (const [app, name, value] of cases) {
      const format = name === 'x-arr-clientcert' ? 'base64-der' : 'url-encoded-pem'
      assert.deepEqual(await call(app, boundToA, { [name]: value }), {
        status: 400,
        code: 'ENTRA_INVALID_REQUEST',
        challenge: challenge(`The ${name} header does not carry one client certificate in ${format} encoding`, 'invalid_request')
      }, value)
    }
  })

  it('in checked mode, reads no header for an unbound token (a malformed one included)', async () => {
    const app = await behind('127.0.0.1', { name: 'x-arr-clientcert', format: 'base64-der' })
    assert.deepEqual(await call(app, unbound, { 'x-arr-clientcert': 'not base64!' }), ok)
  })
})

describe('certificateBinding options and the framework-free check', () => {
  it('fails registration on an unknown mode or format, naming the option', async () => {
    const issuer = await startTestIssuer()
    try {
      const bad = [
        [{ mode: 'sometimes' }, 'certificateBinding.mode'],
        [{ mode: 'checked', forwardedHeader: { name: 'x-arr-clientcert', format: 'der' } }, 'certificateBinding.forwardedHeader.format'],
        [{ mode: 'checked', forwardedHeader: { name: 'bad header', format: 'pem' } }, 'certificateBinding.forwardedHeader']
      ] as const
      for (const [options, option] of bad) {
        await assert.rejects(appWith(issuer, options as unknown as EntraIdPluginOptions['certificateBinding']),
          (error: unknown) => error instanceof EntraConfigError && error.option === option)
      }
    } finally {
      await issuer.close()
    }
  })

  it('checkCertificateBinding compares the claims with a DER certificate, without Fastify', () => {
    const claims = { cnf: { 'x5t#S256': thumbprintA } }
    assert.doesNotThrow(() => { checkCertificateBinding(claims, derOf(clientA.cert), 'required') })
    assert.throws(() => { checkCertificateBinding(claims, derOf(clientB.cert), 'checked') }, { code: 'ENTRA_TOKEN_CERTIFICATE_MISMATCH', statusCode: 401 })
    assert.throws(() => { checkCertificateBinding(claims, undefined, 'checked') }, { code: 'ENTRA_TOKEN_CERTIFICATE_MISSING' })
    assert.throws(() => { checkCertificateBinding({}, derOf(clientA.cert), 'required') }, { code: 'ENTRA_TOKEN_NOT_CERTIFICATE_BOUND' })
    assert.doesNotThrow(() => { checkCertificateBinding({}, undefined, 'checked') })
    assert.doesNotThrow(() => { checkCertificateBinding(claims, undefined, 'ignored') })
  })
})

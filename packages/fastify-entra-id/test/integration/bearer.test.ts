import { after, before, describe, it } from 'node:test'
import assert from 'node:assert/strict'
import { connect } from 'node:net'
import type { AddressInfo } from 'node:net'
import type { FastifyInstance } from 'fastify'
import { startTestIssuer } from '../../src/testing/index.js'
import type { TestIssuer } from '../../src/testing/index.js'
import { buildApp, outcome } from '../helpers.js'

const invalidRequest = (description: string): string =>
  `Bearer realm="api", error="invalid_request", error_description="${description}"`

describe('reading the bearer token (RFC 6750 §2.1)', () => {
  let issuer: TestIssuer
  let app: FastifyInstance
  let token: string

  before(async () => {
    issuer = await startTestIssuer()
    app = await buildApp(issuer)
    await app.ready()
    token = await issuer.mint({ scopes: ['Todo.Read'] })
  })
  after(async () => {
    await app.close()
    await issuer.close()
  })

  const call = async (headers: Record<string, string>, url = '/me') => outcome(await app.inject({ url, headers }))

  it('answers 401 with a bare challenge when there is no Authorization header', async () => {
    assert.deepEqual(await call({}), { status: 401, code: 'ENTRA_TOKEN_MISSING', challenge: 'Bearer realm="api"' })
  })

  it('answers 401 with a bare challenge to another scheme (Basic)', async () => {
    assert.deepEqual(await call({ authorization: 'Basic dXNlcjpwYXNz' }), { status: 401, code: 'ENTRA_TOKEN_MISSING', challenge: 'Bearer realm="api"' })
  })

  it('accepts the scheme in any case', async () => {
    for (const scheme of ['Bearer', 'bearer', 'BEARER', 'bEaReR']) {
      assert.equal((await call({ authorization: `${scheme} ${token}` })).status, 200, scheme)
    }
  })

  it('answers 400 invalid_request to "Bearer" without a token', async () => {
    assert.deepEqual(await call({ authorization: 'Bearer' }), {
      status: 400, code: 'ENTRA_INVALID_REQUEST', challenge: invalidRequest('The Bearer authorization header carries no token')
    })
    assert.equal((await call({ authorization: 'Bearer    ' })).status, 400)
  })

  it('answers 400 invalid_request to two tokens in one header', async () => {
    for (const value of [`Bearer ${token} ${token}`, `Bearer ${token}  other`, 'Bearer\ttoken', `Bearer ${token}\tother`]) {
      assert.deepEqual(await call({ authorization: value }), {
        status: 400, code: 'ENTRA_INVALID_REQUEST', challenge: invalidRequest('The Bearer authorization header must carry exactly one token')
      }, value)
    }
  })

  it('answers 401 invalid_token to a token with characters outside base64url, without echoing it', async () => {
    for (const value of [`Bearer ${token},${token}`, 'Bearer a"b', `Bearer ${token}=`, `Bearer ${token.replace('.', '+')}`]) {
      const response = await app.inject({ url: '/me', headers: { authorization: value } })
      assert.deepEqual(outcome(response), {
        status: 401, code: 'ENTRA_TOKEN_MALFORMED', challenge: 'Bearer realm="api", error="invalid_token", error_description="The token is not a valid JWT"'
      }, value)
    }
  })

  it('treats "Bearerfoo" as another scheme, and accepts several spaces after the scheme', async () => {
    assert.deepEqual(await call({ authorization: `Bearerfoo ${token}` }), { status: 401, code: 'ENTRA_TOKEN_MISSING', challenge: 'Bearer realm="api"' })
    assert.equal((await call({ authorization: `Bearer    ${token}` })).status, 200)
  })

  it('answers 400 invalid_request to a token in the query string, even a valid one, and never uses it', async () => {
    const expected = { status: 400, code: 'ENTRA_INVALID_REQUEST', challenge: invalidRequest('Tokens in the URL are not accepted: send the token in the Authorization header') }
    assert.deepEqual(await call({}, `/me?access_token=${token}`), expected)
    assert.deepEqual(await call({ authorization: `Bearer ${token}` }, `/me?access_token=${token}`), expected)
    // However the name is written: any case, percent-encoded, with an array suffix, with an encoded "=".
    for (const query of ['ACCESS_TOKEN=', 'access%5Ftoken=', '%61ccess_token=', 'access_token[]=', 'access_token[0]=', 'access_token%3D', 'Id_Token=']) {
      assert.deepEqual(await call({ authorization: `Bearer ${token}` }, `/me?page=2&${query}${token}`), expected, query)
    }
  })

  it('takes only spaces and tabs around the header value as white space: a no-break space stays part of the token', async () => {
    assert.equal((await call({ authorization: `Bearer ${token}\t ` })).status, 200)
    const response = await app.inject({ url: '/me', headers: { authorization: `Bearer ${token}\u00a0` } })
    assert.equal(response.statusCode, 401)
    assert.equal(response.json<{ code: string }>().code, 'ENTRA_TOKEN_MALFORMED')
  })

  it('does not read a token from a form body', async () => {
    const response = await app.inject({
      method: 'GET',
      url: '/me',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: `access_token=${token}`
    })
    assert.equal(response.statusCode, 401)
    assert.equal(response.json<{ code: string }>().code, 'ENTRA_TOKEN_MISSING')
  })

  it('answers 400 invalid_request to two Authorization headers (Node would keep only the first)', async () => {
    await app.listen({ port: 0, host: '127.0.0.1' })
    const { port } = app.server.address() as AddressInfo
    // A raw request: HTTP clients merge or refuse repeated Authorization headers.
    const raw = await new Promise<string>((resolve, reject) => {
      const socket = connect(port, '127.0.0.1', () => {
        socket.end(`GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\nAuthorization: Bearer other\r\nConnection: close\r\n\r\n`)
      })
      let data = ''
      socket.on('data', (chunk: Buffer) => { data += chunk.toString() })
      socket.on('end', () => resolve(data))
      socket.on('error', reject)
    })
    const status = { status: Number(raw.split(' ')[1]), body: raw.slice(raw.indexOf('\r\n\r\n') + 4) }
    assert.equal(status.status, 400)
    assert.equal((JSON.parse(status.body) as { code: string }).code, 'ENTRA_INVALID_REQUEST')
  })
})

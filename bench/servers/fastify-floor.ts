// A reference, not a verifier: bare Fastify whose onRequest hook does only the floor's work (decode the payload,
// check the RS256 signature with node:crypto against the one key, the token's own claim check left out). Its auth
// CPU is what the floor costs inside a server, between the HTTP work, rather than in a tight loop.
import { createPublicKey, verify } from 'node:crypto'
import Fastify from 'fastify'
import { ROUTE, TODOS, announce, benchConfig } from './harness.js'

const config = benchConfig()
const { keys } = await (await fetch(config.jwksUri)).json() as { keys: { n: string, e: string }[] }
const first = keys[0]
if (first === undefined) throw new Error('fastify-floor: the key set is empty')
const key = createPublicKey({ key: { kty: 'RSA', n: first.n, e: first.e }, format: 'jwk' })
const app = Fastify({ logger: false })
app.get(ROUTE, {
  onRequest: (request, reply, done) => {
    const header = request.headers.authorization ?? ''
    const token = header.slice(7)
    const a = token.indexOf('.')
    const b = token.lastIndexOf('.')
    let ok: boolean
    try {
      const claims = JSON.parse(Buffer.from(token.slice(a + 1, b), 'base64url').toString()) as { scp?: unknown }
      ok = typeof claims.scp === 'string' && verify('sha256', Buffer.from(token.slice(0, b)), key, Buffer.from(token.slice(b + 1), 'base64url'))
    } catch {
      ok = false
    }
    if (ok) done()
    else void reply.code(401).send({ error: 'invalid_token' })
  }
}, () => TODOS)
await app.listen({ host: '127.0.0.1', port: 0 })
announce(app.server)

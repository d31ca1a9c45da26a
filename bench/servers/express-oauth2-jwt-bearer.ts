// Peer: Express with Auth0's express-oauth2-jwt-bearer, pointed at the tenant's v2 issuer (OpenID discovery).
import express from 'express'
import type { ErrorRequestHandler } from 'express'
import type { Server } from 'node:http'
import { auth } from 'express-oauth2-jwt-bearer'
import { ROUTE, TODOS, announce, benchConfig, mayReadTodos } from './harness.js'

const config = benchConfig()
const app = express()
app.get(ROUTE,
  auth({ issuerBaseURL: config.issuer, audience: config.clientId, tokenSigningAlg: 'RS256' }),
  (request, response, next) => {
    if (mayReadTodos(request.auth?.payload)) next()
    else response.status(403).json({ error: 'insufficient_scope' })
  },
  (_request, response) => { response.json(TODOS) })
// The library's errors carry status and WWW-Authenticate; answer with them instead of Express's default handler,
// which would print each stack trace.
const onError: ErrorRequestHandler = (error, _request, response, next) => {
  if (response.headersSent) { next(error); return }
  const { status, headers } = error as { status?: number, headers?: Record<string, string> }
  response.status(status ?? 500).set(headers ?? {}).json({ error: status === 401 ? 'invalid_token' : 'server_error' })
}
app.use(onError)
const server = await new Promise<Server>((resolve) => { const s = app.listen(0, '127.0.0.1', () => { resolve(s) }) })
announce(server)

// Before a server is measured: a valid token must get 200 and, on an authenticated server, a token with a
// broken signature must get 401. A benchmark of 401s, or of a server that lets anyone in, is worthless.
import { request } from 'node:http'
import type { Agent } from 'node:http'
import type { ServerSpec } from './catalog.js'
import { ROUTE } from './servers/harness.js'

/** The statuses a server gave to a valid and to a forged token. */
export interface SanityResult {
  readonly validStatus: number
  readonly forgedStatus: number
  readonly passed: boolean
}

/** Sends one valid and one forged token to the server on `port`. */
export async function checkServer(spec: ServerSpec, port: number, token: string): Promise<SanityResult> {
  const validStatus = await status(port, token)
  const forgedStatus = await status(port, forge(token))
  const passed = validStatus === 200 && (spec.role === 'ceiling' || forgedStatus === 401)
  return { validStatus, forgedStatus, passed }
}

/** GETs the route with `token` and resolves with the status (0 on a connection error). */
export function status(port: number, token: string, agent: Agent | false = false): Promise<number> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path: ROUTE, agent, headers: { authorization: `Bearer ${token}` } }, (res) => {
      res.resume()
      res.once('end', () => { resolve(res.statusCode ?? 0) })
    })
    req.once('error', () => { resolve(0) })
    req.end()
  })
}

/** The token with the last signature character changed: same header and claims, signature no longer valid. */
function forge(token: string): string {
  const last = token.at(-2) === 'A' ? 'B' : 'A'
  return `${token.slice(0, -2)}${last}${token.slice(-1)}`
}

// `node --import tsx bench/revocation-cache.ts`: what a cached revocation answer costs a repeated token. Two
// verifiers over one loopback issuer, one without `revocation` and one with it, answer the same token (in the token
// cache, its answer cached) millions of times, interleaved in rounds so both see the same machine; then the
// revocation cache's lookup alone. Prints nanoseconds per call (median of the rounds) and the difference.
import { performance } from 'node:perf_hooks'
import { EntraTokenVerifier } from '../packages/fastify-entra-id/src/core/index.js'
import { startTestIssuer } from 'fastify-entra-id/testing'
import { RevocationScreen } from '../packages/fastify-entra-id/src/core/verification/revocation.js'

const CALLS = 500_000
const ROUNDS = 7

const issuer = await startTestIssuer()
const base = { tenantId: issuer.tenantId, clientId: issuer.clientId, authorityHost: issuer.url }
const plain = EntraTokenVerifier.create(base)
const revoking = EntraTokenVerifier.create({ ...base, revocation: { isRevoked: () => false, maxAge: 3_600_000 } })
await Promise.all([plain.hydrate(), revoking.hydrate()])
const token = await issuer.mint({ scopes: ['Todo.Read'] })
for (const verifier of [plain, revoking]) for (let i = 0; i < 3; i++) await verifier.verify(token)

let sink: unknown
function nsPerCall(run: () => unknown): number {
  const start = performance.now()
  for (let i = 0; i < CALLS; i++) sink = run()
  return ((performance.now() - start) * 1e6) / CALLS
}
const median = (values: number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN

const screen = new RevocationScreen({ isRevoked: () => false, maxAge: 3_600_000, maxEntries: 10_000, timeoutDuration: 2000, failOpen: false }, Date.now)
const identity = await revoking.verify(token)
await screen.screen(identity)

const without: number[] = []
const withRevocation: number[] = []
const lookup: number[] = []
for (let round = 0; round < ROUNDS; round++) {
  without.push(nsPerCall(() => plain.identify(token)))
  withRevocation.push(nsPerCall(() => revoking.identify(token)))
  lookup.push(nsPerCall(() => screen.screen(identity)))
}
if (revoking.identify(token) instanceof Promise || sink === undefined) throw new Error('a cached answer must be synchronous')
const [a, b, c] = [median(without), median(withRevocation), median(lookup)]
process.stdout.write([
  `repeated token, identify() without revocation: ${a.toFixed(0)} ns/call`,
  `repeated token, identify() with revocation (answer cached): ${b.toFixed(0)} ns/call (+${(b - a).toFixed(0)} ns, x${(b / a).toFixed(3)})`,
  `the revocation cache's lookup alone (RevocationScreen.screen, a hit): ${c.toFixed(0)} ns/call`,
  `(${ROUNDS} rounds of ${CALLS} calls each, interleaved, medians; answers cached for an hour so none expires mid-run; Node ${process.version})`
].join('\n') + '\n')
plain.close()
revoking.close()
await issuer.close()
